"""Checkout: the cart becomes an order with lines, totals, discount and tax (once, however often it is asked)."""

import secrets
from datetime import datetime

from django.db import transaction
from django.template.defaultfilters import pluralize

from integration.db import insert_together
from integration.money import format_money
from orders import remote
from orders.errors import AlreadyOwned, CartDuplicateItem, CartEmpty
from orders.gateways import gateway_name
from orders.models import Cart, Order, OrderEvent, OrderLine, OrderStatus, Payment
from orders.selectors import owned_external_ids
from orders.services.pricing import cart_quote
from orders.state import order_transition

NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _order_number() -> str:
    return "CL-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


@transaction.atomic
def checkout_create(*, user_id, now: datetime, coupon_code: str | None = None, billing_country: str = "") -> Order:
    """Creates the order for the user's cart, or answers the pending one already made from the same cart.

    The cart row is locked, so a double click or two tabs make one order. The coupon's use is
    reserved in this transaction (catalog enforces its limits); an older pending order of the
    same buyer that no payment is working on is canceled and its coupon released.
    """
    cart = Cart.objects.select_for_update().filter(user_id=user_id).first()
    if cart is None:
        raise CartEmpty()
    if coupon_code is not None and coupon_code.strip() != cart.coupon_code:
        cart.coupon_code = coupon_code.strip()
        cart.save(update_fields=["coupon_code"])
    quote = cart_quote(cart=cart, user_id=user_id, billing_country=billing_country, now=now)
    external_ids = [line.external_id for line in quote.lines]
    if len(set(external_ids)) != len(external_ids):
        raise CartDuplicateItem(details={"externalIds": sorted({x for x in external_ids if external_ids.count(x) > 1})})
    owned = owned_external_ids(user_id=user_id, external_ids=external_ids)
    if owned:
        raise AlreadyOwned(details={"externalIds": sorted(owned)})
    fingerprint = quote.fingerprint
    unpaid = _unpaid_orders(user_id=user_id)
    same = next((order for order in unpaid if order.cart_fingerprint == fingerprint), None)
    if same is not None:
        return same
    if unpaid:
        # Read after the lock (a statement of its own), so an attempt begun meanwhile is seen.
        busy = set(Payment.objects.filter(order__in=unpaid, status__in=[Payment.Status.PROCESSING,
                                                                        Payment.Status.REQUIRES_ACTION])
                   .values_list("order_id", flat=True))
        for stale in unpaid:
            if stale.pk not in busy:
                order_cancel(order=stale, now=now, actor="system:checkout", reason="replaced by a newer checkout")
    order = Order(
        number=_order_number(), user_id=user_id, status=OrderStatus.PENDING, currency=quote.currency,
        subtotal=quote.subtotal, discount=quote.discount, tax=quote.tax, total=quote.total,
        coupon_code=quote.coupon_code, billing_country=quote.billing_country, tax_name=quote.tax_name,
        tax_rate=quote.tax_rate, tax_inclusive=quote.tax_inclusive, gateway=gateway_name(),
        cart_fingerprint=fingerprint, created_at=now, updated_at=now)
    # The order and its lines in one statement on PostgreSQL (both keys are made here, in Python).
    insert_together(order, *(
        OrderLine(order=order, position=index, product_id=line.product_id, bundle_product_id=line.bundle_product_id,
                  bundle_name=line.bundle_name, product_type=line.product_type, external_id=line.external_id,
                  name=line.name, unit_price=line.unit_price, quantity=line.quantity, subtotal=line.subtotal,
                  discount=line.discount, tax=line.tax, total=line.total)
        for index, line in enumerate(quote.lines, start=1)))
    if quote.coupon_code:
        per_item: dict[str, object] = {}
        for item, product in quote.items:
            per_item[product.id] = remote.QuoteLine(product_id=product.id,
                                                    amount=product.price * item.quantity)
        remote.coupon_redeem(code=quote.coupon_code, user_id=str(user_id), order_id=str(order.id),
                             currency=quote.currency, lines=list(per_item.values()), now=now)
    OrderEvent.objects.create(order=order, kind=OrderEvent.Kind.CREATED, created_at=now, actor=str(user_id),
                              message=f"Order placed: {len(quote.lines)} item{pluralize(len(quote.lines))}, "
                                      f"{format_money(order.total, order.currency)} to pay.")
    return order


def _unpaid_orders(*, user_id) -> list[Order]:
    """The buyer's unpaid orders, locked, oldest first."""
    return list(Order.objects.select_for_update()
                .filter(user_id=user_id, status__in=[OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED])
                .order_by("created_at"))


def order_cancel(*, order: Order, now: datetime, actor: str, reason: str) -> Order:
    """Cancels an unpaid order (locked by the caller) and gives its coupon use back."""
    order_transition(order=order, to=OrderStatus.CANCELED, now=now, actor=actor, message=f"Order canceled: {reason}.")
    if order.coupon_code:
        remote.coupon_release(order_id=str(order.id), now=now)
    return order
