"""Demo revenue configs for ``seed_demo``: every published demo course and program gets a split.

The instructor and the content creator of the demo (shared/API.md's accounts) share each sale
with the platform; "Django in Depth" holds their shares until the learner completes. A product
that already has a config keeps it, so running the seed again changes nothing.
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from integration.errors import ApplicationError
from revenue import remote
from revenue.models import RevenueConfig
from revenue.services.configs import ConfigChange, revenue_config_set

INSTRUCTOR = "instructor@example.com"
CREATOR = "creator@example.com"
ON_COMPLETION_TITLE = "Django in Depth"
# Before any demo sale, so that every seeded order finds its split.
EFFECTIVE = date(2025, 1, 1)


def _products():
    port = remote.learning_port()
    cursor = None
    while True:
        page = port.catalog_export(limit=100, cursor=cursor)
        yield from page.products
        if not page.pagination.has_more or not page.pagination.next_cursor:
            return
        cursor = page.pagination.next_cursor


def seed_revenue(*, stdout) -> None:
    if remote.payee_find(email=INSTRUCTOR) is None or remote.payee_find(email=CREATOR) is None:
        stdout.write("  (the demo instructor and creator accounts are not reachable here: no revenue configs)\n")
        return
    now = timezone.now()
    made = kept = 0
    for product in _products():
        if product.status != "published" or product.type not in {"course", "program"}:
            continue
        if RevenueConfig.objects.filter(product_type=product.type, external_id=product.external_id).exists():
            kept += 1
            continue
        program = product.type == "program"
        held = product.name == ON_COMPLETION_TITLE
        try:
            revenue_config_set(
                product_type=product.type, external_id=product.external_id, now=now, product_title=product.name,
                actor_email="seed_demo",
                change=ConfigChange(
                    instructor_email=INSTRUCTOR, instructor_split=Decimal("0.25" if program else "0.30"),
                    creator_email=CREATOR, creator_split=Decimal("0.45" if program else "0.40"),
                    platform_split=Decimal("0.30"), basis="net",
                    release_policy="on_completion" if held else "on_sale", effective_date=EFFECTIVE))
        except ApplicationError as exc:
            stdout.write(f"  could not set the split of {product.name}: {exc.message}\n")
            continue
        made += 1
        stdout.write(f"  {product.type} {product.name}: instructor {'25' if program else '30'}%, creator "
                     f"{'45' if program else '40'}%, platform 30%, net, "
                     f"{'on completion' if held else 'on sale'}\n")
    stdout.write(f"  revenue configs: {made} created, {kept} kept\n" if made else f"  revenue configs: {kept} kept\n")
