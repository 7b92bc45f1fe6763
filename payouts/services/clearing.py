"""Pending amounts whose date has come move to available (the periodic ``payouts.clear_pending`` task)."""

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from payouts.models import Account, LedgerPosting, PendingAmount
from payouts.services.ledger import CREDIT, DEBIT, PostingDraft, balances_lock, postings_write

BATCH = 500


def pending_amounts_clear(*, now: datetime, batch_size: int = BATCH) -> int:
    """Clears every amount due by ``now``, in batches; returns how many. Safe to run twice, or in parallel."""
    cleared = 0
    while True:
        done = _clear_batch(now=now, batch_size=batch_size)
        cleared += done
        if done < batch_size:
            return cleared


@transaction.atomic
def _clear_batch(*, now: datetime, batch_size: int) -> int:
    # skip_locked: two workers clearing at once take different rows, never the same one twice.
    lot_ids = list(PendingAmount.objects.select_for_update(skip_locked=True)
                   .filter(state=PendingAmount.State.PENDING, available_on__lte=now)
                   .order_by("available_on", "id").values_list("id", flat=True)[:batch_size])
    if not lot_ids:
        return 0
    lots = list(PendingAmount.objects.filter(id__in=lot_ids))
    groups: dict[tuple[str, str], list[PendingAmount]] = defaultdict(list)
    for lot in lots:
        groups[(lot.payee_user_id, lot.currency)].append(lot)
    balances = balances_lock(keys=groups.keys(), now=now)
    drafts = []
    for (payee, currency), group in sorted(groups.items()):
        total = sum((lot.amount for lot in group), Decimal(0))
        if total <= 0:
            continue
        draft = PostingDraft(key=f"clearing:{uuid.uuid4()}", kind=LedgerPosting.Kind.CLEARING, currency=currency,
                             occurred_at=now, description=f"{len(group)} amount(s) cleared")
        draft.add(Account.PAYEE_PENDING, DEBIT, total, "cleared", payee)
        draft.add(Account.PAYEE_AVAILABLE, CREDIT, total, "cleared", payee)
        drafts.append(draft)
    postings_write(drafts=drafts, balances=balances, now=now)
    for lot in lots:
        lot.state = PendingAmount.State.AVAILABLE
    PendingAmount.objects.bulk_update(lots, ["state"])
    return len(lots)
