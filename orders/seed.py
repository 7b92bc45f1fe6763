"""Demo orders for ``manage.py seed_demo`` (idempotent): completed, pending-approval and refunded orders.

They are made the way a buyer makes them (cart, checkout, the test gateway's ``pm_card_visa``),
so the LMS enrolls the buyer and the revenue side books the sales; the refunded one is then
refunded by the demo commerce-admin. The demo learner buys three courses, taken in name order so
every run buys the same ones (the LMS's seed enrolls the learner by hand only in Python for
Beginners, which sorts last): a completed one, the one that requires approval (its line waits as
``pending_approval``) and one later refunded. A second demo buyer (``admin@example.com``) buys the
approval course too, so the department's queue shows two requests.
"""

from django.utils import timezone

from integration.errors import ApplicationError
from orders import remote
from orders.models import Order, OrderEvent, Refund
from orders.services.carts import cart_get_or_create, cart_item_add
from orders.services.checkout import checkout_create
from orders.services.payments import order_pay
from orders.services.refunds import refund_create
from orders.services.taxes import tax_rate_upsert

SEED_ACTOR = "system:seed_demo"
LEARNER_EMAIL = "learner@example.com"
APPROVAL_BUYER_EMAIL = "admin@example.com"
DEMO_TAX_RATES = [("DE", "VAT", "0.19", True), ("FR", "TVA", "0.20", True), ("GB", "VAT", "0.20", True),
                  ("AU", "GST", "0.10", False), ("CA", "GST", "0.05", False), ("JP", "Consumption tax", "0.10", True)]


def _needs_approval(page) -> set[str]:
    return {product.external_id for product in page.products
            if (getattr(product, "metadata", None) or {}).get("requiresApproval")}


def _demo_products() -> list:
    """Purchasable LMS courses in one currency; the second one requires approval if any does."""
    from integration.ports.learning import learning_port

    page = learning_port().catalog_export(limit=100)
    external_ids = [product.external_id for product in page.products if product.status == "published"]
    needs_approval = _needs_approval(page)
    if not external_ids:
        return []
    from integration.ports.catalog import catalog_port

    found = []
    for external_id in external_ids:
        try:
            snapshot = catalog_port().product_by_external_id(external_id=external_id)
        except ApplicationError:
            continue
        if snapshot.purchasable and snapshot.type == "course":
            found.append(snapshot)
    if not found:
        return []
    found.sort(key=lambda product: (product.name, product.external_id))
    currency = found[0].currency
    found = [product for product in found if product.currency == currency]
    # One that needs approval second (it becomes the pending-approval order), when the LMS has one.
    approval = [product for product in found if product.external_id in needs_approval][:1]
    others = [product for product in found if product not in approval]
    found = others[:1] + approval + others[1:]
    return found


def _buy(*, user_id, product, now, country: str = "") -> Order:
    cart = cart_get_or_create(user_id=user_id, now=now)
    cart.items.all().delete()
    cart_item_add(cart=cart, product_id=product.id, user_id=user_id, now=now)
    order = checkout_create(user_id=user_id, now=now, billing_country=country, coupon_code="")
    order_pay(order_id=order.pk, user_id=user_id, now=now, payment_method="pm_card_visa")
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.ADMIN, actor=SEED_ACTOR, created_at=now,
                              message="Demo order made by seed_demo.")
    return Order.objects.get(pk=order.pk)


def seed_orders(*, stdout) -> None:
    for country, name, rate, inclusive in DEMO_TAX_RATES:
        from decimal import Decimal

        tax_rate_upsert(country=country, name=name, rate=Decimal(rate), inclusive=inclusive)
    stdout.write(f"  {len(DEMO_TAX_RATES)} tax rates (VAT, GST)\n")
    from integration.ports.identity import identity_port

    try:
        learner = identity_port().user_find(email=LEARNER_EMAIL)
    except ApplicationError:
        stdout.write("  no demo learner; no demo orders\n")
        return
    try:
        products = _demo_products()
    except ApplicationError as exc:
        stdout.write(f"  the LMS catalog did not answer ({exc.code}); no demo orders\n")
        return
    _seed_pending_approval(products=products, stdout=stdout)
    if OrderEvent.objects.filter(order__user_id=learner.id, actor=SEED_ACTOR).exists():
        stdout.write("  kept    the learner's demo orders\n")
        return
    if len(products) < 3:
        stdout.write("  fewer than three demo courses for sale; no demo orders\n")
        return
    now = timezone.now()
    made = []
    for product, country in zip(products[:3], ["DE", "", "AU"], strict=True):
        try:
            made.append(_buy(user_id=learner.id, product=product, now=now, country=country))
        except ApplicationError as exc:
            stdout.write(f"  could not buy {product.name}: {exc.message}\n")
    if len(made) == 3:
        refund_create(order_id=made[2].pk, reason="demo: changed my mind", initiator=Refund.Initiator.ADMIN,
                      actor=SEED_ACTOR, now=timezone.now())
    for order in Order.objects.filter(pk__in=[order.pk for order in made]).prefetch_related("lines"):
        states = ", ".join(line.entitlement_status for line in order.lines.all())
        stdout.write(f"  created order {order.number}: {order.status} ({states}) for {remote.user_get(user_id=str(order.user_id)).email}\n")


def _seed_pending_approval(*, products: list, stdout) -> None:
    """The approval course bought by a second demo buyer, whom the LMS has not enrolled: pending approval."""
    from integration.ports.identity import identity_port
    from integration.ports.learning import learning_port

    needs_approval = _needs_approval(learning_port().catalog_export(limit=100))
    course = next((product for product in products if product.external_id in needs_approval), None)
    if course is None:
        stdout.write("  no course needs approval; no pending-approval order\n")
        return
    try:
        buyer = identity_port().user_find(email=APPROVAL_BUYER_EMAIL)
    except ApplicationError:
        stdout.write(f"  no {APPROVAL_BUYER_EMAIL}; no pending-approval order\n")
        return
    if OrderEvent.objects.filter(order__user_id=buyer.id, actor=SEED_ACTOR).exists():
        stdout.write(f"  kept    the pending-approval order of {APPROVAL_BUYER_EMAIL}\n")
        return
    try:
        order = _buy(user_id=buyer.id, product=course, now=timezone.now())
    except ApplicationError as exc:
        stdout.write(f"  could not buy {course.name} for {APPROVAL_BUYER_EMAIL}: {exc.message}\n")
        return
    states = ", ".join(order.lines.values_list("entitlement_status", flat=True))
    stdout.write(f"  created order {order.number}: {order.status} ({states}) for {APPROVAL_BUYER_EMAIL}\n")
