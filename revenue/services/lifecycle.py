"""From enrollment lifecycle events to revenue events and releases, whatever order the events arrive in.

Each ``enrollment.lifecycle`` message adds facts to the enrollment's ``EnrollmentFacts``
(activated, completed, interaction met, revoked, expired); then :func:`_settle` brings
what was sent to Commerce up to date with those facts:

* an activation through a purchase → one ``course_sale`` / ``program_sale`` event (eventId
  ``rev_sale_<enrollmentId>``), split by the config in force on the sale date;
* a revocation with a refund → one ``refund`` event (``rev_refund_<enrollmentId>``) mirroring the
  sale's splits pro rata, ``originalEventId`` naming the sale;
* under ``on_completion``, each held share → ``release`` once the learner completed (and, for the
  instructor's share, the interaction requirement was met) before any revocation or expiry, or
  ``forfeit`` once the enrollment ended first. A share fully refunded is neither.

A forfeit waits ``REVENUE_FORFEIT_GRACE_HOURS`` after the end of the enrollment (then
:func:`holds_settle_due`, run periodically, decides it): a completion or interaction that
happened before the end but arrives after it still releases the share, so the outcome does
not depend on the order the events arrive in.

Every message goes through the outbox in this transaction, with an idempotency key derived from
the enrollment, so a retried event or a replayed delivery sends the same message again at most.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from integration.db import insert_ignore, insert_together
from integration.money import quantize, to_decimal
from integration.outbox import outbox_send
from integration.topics import Topic
from revenue import remote
from revenue.errors import CurrencyMismatch, NoConfigAtSaleDate
from revenue.models import (
    Basis,
    EnrollmentFacts,
    HoldReason,
    LifecycleEventSeen,
    Recipient,
    ReleasePolicy,
    RevenueConfig,
    RevenueSale,
    RevenueShare,
    SaleState,
    ShareStatus,
)
from revenue.selectors import revenue_config_for_sale
from revenue.services.erasure import erased_among
from revenue.services.roles import payee_role_ensure
from revenue.splits import split_amount

ACTIVATED = "enrollment.activated"
COMPLETED = "enrollment.completed"
INTERACTION_MET = "enrollment.interaction_met"
REVOKED = "enrollment.revoked"
EXPIRED = "enrollment.expired"
LIFECYCLE_EVENTS = (ACTIVATED, COMPLETED, INTERACTION_MET, REVOKED, EXPIRED)

PURCHASE_SOURCES = frozenset({"commerce", "purchase", "order"})
REFUNDING_REASONS = frozenset({"refund", "rejected"})
REASONS = {Recipient.INSTRUCTOR: "instructor_share", Recipient.CREATOR: "creator_share",
           Recipient.AFFILIATE: "affiliate", Recipient.PLATFORM: "platform_fee"}
HELD_RECIPIENTS = (Recipient.INSTRUCTOR, Recipient.CREATOR)


@dataclass(frozen=True)
class LifecycleOutcome:
    status: str  # "processed" or "duplicate"
    sale_event_id: str = ""
    messages: int = 0


def sale_event_id(enrollment_id: str) -> str:
    return f"rev_sale_{enrollment_id}"


def refund_event_id(enrollment_id: str) -> str:
    return f"rev_refund_{enrollment_id}"


def _when(value, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value)) if value else None
    return parsed or default


def lifecycle_event_record(*, idempotency_key: str, event: str, payload: dict, now: datetime,
                           savepoint: bool = True) -> LifecycleOutcome:
    """Handles one ``enrollment.lifecycle`` message (``payload`` in wire names); safe to call again.

    ``savepoint=False``: the caller's transaction is rolled back whole on any exception (the
    ``enrollment.lifecycle`` handler's delivery), so no savepoint is needed when it runs inside one.
    """
    with transaction.atomic(savepoint=savepoint):
        return _event_record(idempotency_key=idempotency_key, event=event, payload=payload, now=now)


def _event_record(*, idempotency_key: str, event: str, payload: dict, now: datetime) -> LifecycleOutcome:
    enrollment_id = str(payload["enrollmentId"])
    if not insert_ignore(LifecycleEventSeen, [{"idempotency_key": idempotency_key, "event": event,
                                               "enrollment_id": enrollment_id, "received_at": now}],
                         conflict=["idempotency_key"]):
        return LifecycleOutcome(status="duplicate")
    facts = None
    if event != ACTIVATED:
        facts = EnrollmentFacts.objects.select_for_update().filter(enrollment_id=enrollment_id).first()
    if facts is not None:
        _facts_add(facts, event=event, payload=payload, now=now)
        facts.save()
        sale = RevenueSale.objects.filter(enrollment_id=enrollment_id).first()
    else:
        # An activation is an enrollment's first fact as a rule: its row is written in one statement, and a
        # new row has no sale yet (a sale is made only from its enrollment's facts, which are never deleted).
        # The row already there (another event came first, or a concurrent one just committed) is locked,
        # then updated.
        facts = EnrollmentFacts(enrollment_id=enrollment_id, updated_at=now)
        _facts_add(facts, event=event, payload=payload, now=now)
        row = {field.name: getattr(facts, field.attname) for field in EnrollmentFacts._meta.concrete_fields}
        if insert_ignore(EnrollmentFacts, [row], conflict=["enrollment_id"]):
            facts._state.adding, facts._state.db = False, "default"
            sale = None
        else:
            facts = EnrollmentFacts.objects.select_for_update().get(enrollment_id=enrollment_id)
            _facts_add(facts, event=event, payload=payload, now=now)
            facts.save()
            sale = RevenueSale.objects.filter(enrollment_id=enrollment_id).first()
    sale, sent = _settle(facts=facts, now=now, strict=event == ACTIVATED, sale=sale)
    return LifecycleOutcome(status="processed", sale_event_id=sale.event_id if sale else "", messages=sent)


def _facts_add(facts: EnrollmentFacts, *, event: str, payload: dict, now: datetime) -> None:
    """What one event adds to the enrollment's facts (a fact already known stays as it was)."""
    if event == ACTIVATED:
        if facts.activated_payload is None:
            facts.activated_payload = {key: (str(value) if isinstance(value, Decimal | datetime) else value)
                                       for key, value in payload.items()}
    elif event == COMPLETED:
        facts.completed_at = facts.completed_at or _when(payload.get("completedAt"), now)
        if payload.get("interactionMet"):
            facts.interaction_met_at = facts.interaction_met_at or facts.completed_at
    elif event == INTERACTION_MET:
        facts.interaction_met_at = facts.interaction_met_at or _when(
            payload.get("metAt") or payload.get("occurredAt"), now)
    elif event == REVOKED:
        if facts.revoked_at is None:
            facts.revoked_at = _when(payload.get("revokedAt"), now)
            facts.revoke_reason = str(payload.get("reason") or "")[:32]
            if payload.get("refundAmount") is not None:
                facts.refund_amount = to_decimal(payload["refundAmount"])
            facts.refund_currency = str(payload.get("currency") or "")[:3]
    elif event == EXPIRED:
        facts.expired_at = facts.expired_at or _when(payload.get("expiredAt"), now)
    facts.updated_at = now


@transaction.atomic
def enrollment_settle(*, enrollment_id: str, now: datetime) -> int:
    """Re-runs the settlement of one enrollment (after a config was added, or by an admin); returns messages sent."""
    facts = EnrollmentFacts.objects.select_for_update().filter(enrollment_id=enrollment_id).first()
    if facts is None:
        return 0
    sale = RevenueSale.objects.filter(enrollment_id=enrollment_id).first()
    return _settle(facts=facts, now=now, sale=sale)[1]


def _settle(*, facts: EnrollmentFacts, now: datetime, sale: RevenueSale | None,
            strict: bool = True) -> tuple[RevenueSale | None, int]:
    """``sale``: the enrollment's sale, if there is one. ``strict``: a sale with no config in force raises
    (409, retried); otherwise it waits for the activation's retry."""
    sent = 0
    shares = None
    if sale is None and _is_purchase(facts.activated_payload):
        try:
            # Raised before the sale writes anything: no savepoint needed to go on without it.
            sale, shares = _sale_emit(facts=facts, now=now)
        except NoConfigAtSaleDate:
            if strict:
                raise
            return None, sent
        sent += 1
    if sale is None:
        return None, sent
    if _refund_due(facts, sale):
        _refund_emit(sale=sale, facts=facts, now=now)
        shares = None
        sent += 1
    sent += _holds_settle(sale=sale, facts=facts, now=now, shares=shares)
    return sale, sent


def _is_purchase(payload: dict | None) -> bool:
    if not payload or str(payload.get("source") or "").lower() not in PURCHASE_SOURCES:
        return False
    amount = payload.get("grossAmount") if payload.get("grossAmount") is not None else payload.get("amount")
    return bool(payload.get("orderId")) and amount is not None and to_decimal(amount) > 0 and bool(
        payload.get("currency"))


def _sale_emit(*, facts: EnrollmentFacts, now: datetime) -> tuple[RevenueSale, list[RevenueShare]]:
    """The sale and its shares, written; raises :class:`NoConfigAtSaleDate` before writing anything."""
    payload = facts.activated_payload
    occurred_at = _when(payload.get("activatedAt"), now)
    product_type = str(payload.get("productType") or "course")
    if product_type == "program":
        config_type, config_id = "program", str(payload.get("programId") or payload.get("externalId"))
    else:
        config_type, config_id = "course", str(payload.get("courseId") or payload.get("externalId"))
    config = revenue_config_for_sale(product_type=config_type, external_id=config_id, on=occurred_at.date())
    if config is None:
        raise NoConfigAtSaleDate(details={"productType": config_type, "externalId": config_id,
                                          "saleDate": occurred_at.date().isoformat()})
    currency = str(payload["currency"]).upper()
    gross = quantize(payload.get("grossAmount") if payload.get("grossAmount") is not None else payload["amount"],
                     currency)
    fee = quantize(payload.get("processorFee") or 0, currency)
    fee = min(fee, gross)
    total = gross - fee if config.basis == Basis.NET else gross
    held = config.release_policy == ReleasePolicy.ON_COMPLETION

    instructor_id = config.instructor_commerce_user_id or str(payload.get("instructorCommerceUserId") or "")
    payees = {Recipient.INSTRUCTOR: instructor_id, Recipient.CREATOR: config.creator_commerce_user_id,
              Recipient.AFFILIATE: config.affiliate_commerce_user_id,
              Recipient.PLATFORM: config.platform_commerce_user_id}
    weights = {Recipient.INSTRUCTOR: config.instructor_split, Recipient.CREATOR: config.creator_split,
               Recipient.AFFILIATE: config.affiliate_split, Recipient.PLATFORM: config.platform_split}
    named = (Recipient.INSTRUCTOR, Recipient.CREATOR, Recipient.AFFILIATE)
    erased = {user_id for user_id, flag in ((config.instructor_commerce_user_id, config.instructor_erased),
                                            (config.creator_commerce_user_id, config.creator_erased),
                                            (config.affiliate_commerce_user_id, config.affiliate_erased))
              if user_id and flag}
    if instructor_id != config.instructor_commerce_user_id and weights[Recipient.INSTRUCTOR]:
        erased |= erased_among([instructor_id])  # the instructor the LMS named, the config naming none
    folded = [recipient for recipient in named
              if weights[recipient] and (not payees[recipient] or payees[recipient] in erased)]
    for recipient in folded:  # a share with nobody (or an erased account) to receive it stays with the platform
        weights[Recipient.PLATFORM] += weights[recipient]
        weights[recipient] = Decimal("0")
    amounts = split_amount(amount=total, currency=currency, weights=weights, remainder_to=Recipient.PLATFORM)

    event_type = "program_sale" if product_type == "program" else "course_sale"
    sale = RevenueSale(
        event_id=sale_event_id(facts.enrollment_id), enrollment_id=facts.enrollment_id, event_type=event_type,
        product_type=config_type, external_id=config_id, product_title=config.product_title,
        order_id=str(payload["orderId"]), order_item_id=str(payload.get("orderItemId") or ""),
        lms_user_id=str(payload.get("lmsUserId") or ""),
        learner_commerce_user_id=str(payload.get("commerceUserId") or ""), config=config, basis=config.basis,
        release_policy=config.release_policy, currency=currency, gross_amount=gross, processor_fee=fee,
        total_amount=total, occurred_at=occurred_at, created_at=now)
    splits = []
    shares = []
    for recipient in (Recipient.INSTRUCTOR, Recipient.CREATOR, Recipient.AFFILIATE, Recipient.PLATFORM):
        amount = amounts[recipient]
        if amount == 0 and recipient != Recipient.PLATFORM:
            continue
        is_held = held and recipient in HELD_RECIPIENTS
        shares.append(RevenueShare(
            sale=sale, recipient=recipient, reason=REASONS[recipient], payee_commerce_user_id=payees[recipient],
            amount=amount, held=is_held, status=ShareStatus.HELD if is_held else ShareStatus.CLEARING))
        if amount == 0:
            continue
        split = {"payeeUserId": payees[recipient], "amount": amount, "reason": REASONS[recipient],
                 "description": _description(recipient, config, folded)}
        if is_held:
            split["hold"] = True
        splits.append(split)
    insert_together(sale, *shares)
    event = {"eventId": sale.event_id, "type": event_type, "orderId": sale.order_id,
             "productExternalId": str(payload.get("externalId") or config_id), "totalAmount": total,
             "currency": currency, "splits": splits, "occurredAt": occurred_at}
    if config.basis == Basis.NET or fee:
        event.update(grossAmount=gross, processorFee=fee)
    _events_send(sale=sale, event=event)
    if instructor_id and not config.instructor_commerce_user_id and amounts[Recipient.INSTRUCTOR]:
        payee_role_ensure(commerce_user_id=instructor_id, now=now, course_ids=(config_id,))
    return sale, shares


def _description(recipient: str, config: RevenueConfig, folded: list[str]) -> str:
    share = {Recipient.INSTRUCTOR: config.instructor_split, Recipient.CREATOR: config.creator_split,
             Recipient.AFFILIATE: config.affiliate_split, Recipient.PLATFORM: config.platform_split}[recipient]
    text = f"{share * 100:.2f}% of the {config.basis} amount, config from {config.effective_date.isoformat()}"
    if recipient == Recipient.PLATFORM and folded:
        text += "; includes the unassigned " + " and ".join(folded) + " share"
    return text


def _events_send(*, sale: RevenueSale, event: dict) -> None:
    outbox_send(topic=Topic.REVENUE_EVENTS,
                payload={"source": "lms", "idempotencyKey": f"revenue.events:{event['eventId']}", "events": [event]},
                aggregate_key=f"revenue:enrollment:{sale.enrollment_id}")


def _refund_due(facts: EnrollmentFacts, sale: RevenueSale) -> bool:
    if sale.refund_event_id or facts.revoked_at is None:
        return False
    if facts.refund_amount is not None:
        return facts.refund_amount > 0
    return facts.revoke_reason in REFUNDING_REASONS


def _refund_emit(*, sale: RevenueSale, facts: EnrollmentFacts, now: datetime) -> None:
    """A ``refund`` event: the refunded part of totalAmount, taken back from each split pro rata."""
    if facts.refund_currency and facts.refund_currency.upper() != sale.currency:
        raise CurrencyMismatch(details={"saleCurrency": sale.currency, "refundCurrency": facts.refund_currency})
    refunded_gross = sale.gross_amount if facts.refund_amount is None else min(
        quantize(facts.refund_amount, sale.currency), sale.gross_amount)
    if refunded_gross == sale.gross_amount:
        total = quantize(sale.total_amount, sale.currency)
    else:
        total = quantize(sale.total_amount * refunded_gross / sale.gross_amount, sale.currency)
    shares = list(sale.shares.select_for_update().order_by("recipient"))
    weights = {share.recipient: share.amount for share in shares}
    if Recipient.PLATFORM not in weights:
        weights[Recipient.PLATFORM] = Decimal("0")
    parts = split_amount(amount=total, currency=sale.currency, weights=weights, remainder_to=Recipient.PLATFORM)
    splits = []
    for share in shares:
        part = quantize(min(parts[share.recipient], share.amount - share.refunded_amount), sale.currency)
        if part <= 0:
            continue
        split = {"payeeUserId": share.payee_commerce_user_id, "amount": part, "reason": share.reason,
                 "description": f"refund of {share.get_recipient_display().lower()} share"}
        if share.status == ShareStatus.HELD:
            split["hold"] = True
        splits.append(split)
        share.refunded_amount += part
        if share.refunded_amount == share.amount:
            share.status = ShareStatus.REFUNDED
            share.decided_at = now
        share.save(update_fields=["refunded_amount", "status", "decided_at"])
    total = sum((split["amount"] for split in splits), quantize(0, sale.currency))
    sale.refund_event_id = refund_event_id(sale.enrollment_id)
    sale.refund_amount = total
    sale.state = SaleState.REFUNDED
    sale.save(update_fields=["refund_event_id", "refund_amount", "state"])
    if not splits:
        return
    event = {"eventId": sale.refund_event_id, "type": "refund", "orderId": sale.order_id,
             "productExternalId": str((facts.activated_payload or {}).get("externalId") or sale.external_id),
             "totalAmount": total, "currency": sale.currency, "splits": splits,
             "occurredAt": facts.revoked_at, "originalEventId": sale.event_id,
             "grossAmount": refunded_gross, "processorFee": max(refunded_gross - total, quantize(0, sale.currency))}
    _events_send(sale=sale, event=event)


def _holds_settle(*, sale: RevenueSale, facts: EnrollmentFacts, now: datetime,
                  shares: list[RevenueShare] | None = None) -> int:
    """Releases or forfeits the held shares the facts now decide; one ``revenue.releases`` message.

    ``shares``: the sale's shares as this transaction just wrote them (none read back)."""
    if shares is None:
        shares = list(sale.shares.select_for_update().order_by("recipient"))
    held = sorted((share for share in shares if share.status == ShareStatus.HELD), key=lambda share: share.recipient)
    if not held:
        return 0
    ended_at = min((moment for moment in (facts.revoked_at, facts.expired_at) if moment), default=None)
    if facts.revoked_at and sale.state == SaleState.ACTIVE:
        sale.state = SaleState.REVOKED
        sale.save(update_fields=["state"])
    elif facts.expired_at and sale.state == SaleState.ACTIVE:
        sale.state = SaleState.EXPIRED
        sale.save(update_fields=["state"])
    forfeit_due = ended_at is not None and ended_at + forfeit_grace() <= now
    completed = facts.completed_at is not None and (ended_at is None or facts.completed_at <= ended_at)
    interaction = facts.interaction_met_at is not None and (ended_at is None or facts.interaction_met_at <= ended_at)
    if completed and not interaction and any(share.recipient == Recipient.INSTRUCTOR for share in held) \
            and ended_at is None and remote.interaction_met(enrollment_id=sale.enrollment_id):
        facts.interaction_met_at = now
        facts.save(update_fields=["interaction_met_at"])
        interaction = True

    def releasable(share: RevenueShare) -> bool:
        return completed and (share.recipient != Recipient.INSTRUCTOR or interaction)

    # A payee with two held shares of one sale (creator and instructor alike) is released or forfeited as one,
    # since a release names the sale and the payee.
    by_payee: dict[str, list[RevenueShare]] = {}
    for share in held:
        by_payee.setdefault(share.payee_commerce_user_id, []).append(share)
    decisions: list[tuple[str, str, list[RevenueShare]]] = []
    for payee, shares in sorted(by_payee.items()):
        if all(releasable(share) for share in shares):
            decisions.append((payee, "release", shares))
        elif forfeit_due:
            decisions.append((payee, "forfeit", shares))
    if not decisions:
        return 0
    for _, action, shares in decisions:
        for share in shares:
            share.status = ShareStatus.RELEASED if action == "release" else ShareStatus.FORFEITED
            share.decided_at = now
            share.save(update_fields=["status", "decided_at"])
    releases = [{"eventId": sale.event_id, "payeeUserId": payee, "action": action} for payee, action, _ in decisions]
    key = "revenue.releases:" + sale.event_id + ":" + ",".join(f"{r['payeeUserId']}={r['action']}" for r in releases)
    outbox_send(topic=Topic.REVENUE_RELEASES, payload={"source": "lms", "idempotencyKey": key, "releases": releases},
                aggregate_key=f"revenue:enrollment:{sale.enrollment_id}")
    return 1


def forfeit_grace() -> timedelta:
    return timedelta(hours=settings.REVENUE_FORFEIT_GRACE_HOURS)


def holds_settle_due(*, now: datetime, limit: int = 500) -> int:
    """Settles the held shares of enrollments that ended more than the grace period ago; returns messages sent."""
    cutoff = now - forfeit_grace()
    waiting = RevenueShare.objects.filter(status=ShareStatus.HELD).values("sale__enrollment_id")
    due = list(EnrollmentFacts.objects.filter(Q(revoked_at__lte=cutoff) | Q(expired_at__lte=cutoff))
               .filter(enrollment_id__in=waiting).order_by("updated_at").values_list("enrollment_id", flat=True)[:limit])
    return sum(enrollment_settle(enrollment_id=enrollment_id, now=now) for enrollment_id in due)


def hold_reason(share: RevenueShare, facts: EnrollmentFacts | None) -> str:
    """Why a held share still waits (for the earnings page)."""
    if share.status != ShareStatus.HELD:
        return HoldReason.NONE
    if facts is not None and facts.completed_at and share.recipient == Recipient.INSTRUCTOR:
        return HoldReason.INTERACTION
    return HoldReason.COMPLETION
