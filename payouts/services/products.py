"""The names of the courses and programs sold, for the payee's pages (the ledger keeps only the LMS id)."""

import time
from collections.abc import Iterable
from datetime import datetime

from payouts import remote
from payouts.models import ProductName

# Ids asked recently, per process, found or not: a batch of sales asks the catalog only for ids it has not
# asked about in the last few minutes (a rename shows after the next sale once that time has passed).
_ASKED: dict[str, float] = {}
ASKED_SECONDS = 300.0


def product_names_record(*, product_ids: Iterable[str], now: datetime) -> int:
    """Asks the catalog the name of each product not asked lately and stores it (one upsert); answers how many."""
    clock = time.monotonic()
    wanted = sorted({product_id for product_id in product_ids
                     if product_id and clock - _ASKED.get(product_id, -ASKED_SECONDS) >= ASKED_SECONDS})
    names = remote.product_names(external_ids=wanted)
    for product_id in wanted:
        _ASKED[product_id] = clock
    if names:
        ProductName.objects.bulk_create(
            [ProductName(external_id=product_id, name=name[:255], updated_at=now) for product_id, name in names.items()],
            update_conflicts=True, unique_fields=["external_id"], update_fields=["name", "updated_at"])
    return len(names)


def product_names_forget() -> None:
    """Tests: ask again."""
    _ASKED.clear()
