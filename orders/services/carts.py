"""Carts: one per signed-in user and one per anonymous session, merged into the user's at login."""

import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from integration.errors import ApplicationError, error_for_code
from orders import remote
from orders.errors import (
    AlreadyOwned,
    CartCurrencyMismatch,
    CartItemNotFound,
    InvalidQuantity,
    ProductNotPurchasable,
    SeatLimit,
)
from orders.models import Cart, CartItem
from orders.selectors import owned_external_ids


def _product_error(code: str, fallback: type, **details):
    error_class = error_for_code(code) or fallback
    return error_class(details=details)


def cart_get_or_create(*, user_id=None, session_key: str | None = None, now: datetime) -> Cart:
    """The cart of ``user_id`` (when signed in) or of the anonymous ``session_key``."""
    lookup = {"user_id": user_id} if user_id else {"session_key": session_key}
    cart = Cart.objects.filter(**lookup).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(created_at=now, updated_at=now, **lookup)
    except IntegrityError:  # made by a parallel request meanwhile
        return Cart.objects.get(**lookup)


def _validated_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int | str):
        raise InvalidQuantity(details={"quantity": str(quantity)[:20]})
    try:
        value = int(quantity)
    except (TypeError, ValueError):
        raise InvalidQuantity(details={"quantity": str(quantity)[:20]}) from None
    if value < 1:
        raise InvalidQuantity(details={"quantity": value})
    if value > 1:
        raise SeatLimit(details={"quantity": value})
    return value


# The signed-in buyer's cart made if missing, one statement and no savepoint: the partial unique index
# (one cart per user) decides between two requests, the second writing nothing (then it reads the first's).
_CART_COLUMNS = {name: Cart._meta.get_field(name).column
                 for name in ("id", "user_id", "coupon_code", "created_at", "updated_at")}
_CART_INSERT_SQL = (
    f"INSERT INTO {Cart._meta.db_table} ({', '.join(_CART_COLUMNS.values())}) VALUES (%s, %s, '', %s, %s)"  # noqa: S608 (names from the model; values are parameters)
    f" ON CONFLICT ({_CART_COLUMNS['user_id']}) WHERE {_CART_COLUMNS['user_id']} IS NOT NULL DO NOTHING"
    f" RETURNING {_CART_COLUMNS['id']}"
)


def _user_cart_with_items(*, user_id) -> tuple[object, dict[str, CartItem]] | None:
    """The user's cart id and its items, in one query (the items' LEFT JOIN), or ``None`` without a cart."""
    rows = list(Cart.objects.filter(user_id=user_id).values_list(
        "id", "items__id", "items__product_id", "items__quantity", "items__added_at"))
    if not rows:
        return None
    cart_id = rows[0][0]
    return cart_id, {product_id: CartItem(id=item_id, cart_id=cart_id, product_id=product_id, quantity=quantity,
                                          added_at=added_at)
                     for _, item_id, product_id, quantity, added_at in rows if item_id is not None}


@transaction.atomic
def cart_product_add(*, user_id, product_id: str, quantity=1, now: datetime) -> CartItem:
    """The signed-in buyer adds a product: their cart made if missing and the product added, one transaction.

    What the API's add does. A new cart is written with ``updated_at`` = now and no items, so neither the
    items' read nor the cart's touch is needed then; a refused product leaves no cart behind.
    """
    found = _user_cart_with_items(user_id=user_id)
    if found is None:
        params = [Cart._meta.pk.get_db_prep_save(uuid.uuid4(), connection),
                  Cart._meta.get_field("user_id").get_db_prep_save(uuid.UUID(str(user_id)), connection),
                  *(Cart._meta.get_field("created_at").get_db_prep_save(now, connection) for _ in range(2))]
        with connection.cursor() as cursor:
            cursor.execute(_CART_INSERT_SQL, params)
            made = cursor.fetchone()
        if made is not None:
            return _item_add(cart_id=Cart._meta.pk.to_python(made[0]), existing={}, product_id=product_id,
                             quantity=quantity, user_id=user_id, now=now, touch=False)
        found = _user_cart_with_items(user_id=user_id)  # made by a parallel request, committed meanwhile
    cart_id, existing = found
    return _item_add(cart_id=cart_id, existing=existing, product_id=product_id, quantity=quantity,
                     user_id=user_id, now=now)


@transaction.atomic
def cart_item_add(*, cart: Cart, product_id: str, quantity=1, user_id=None, now: datetime) -> CartItem:
    """Adds a product (once: one seat per learner). Refuses unknown, archived, owned or other-currency products."""
    return _item_add(cart_id=cart.pk, existing={item.product_id: item for item in cart.items.all()},
                     product_id=product_id, quantity=quantity, user_id=user_id, now=now)


def _item_add(*, cart_id, existing: dict[str, CartItem], product_id: str, quantity, user_id, now: datetime,
              touch: bool = True) -> CartItem:
    """The add's rule (``existing``: the cart's items by product id); ``touch``: the cart's ``updated_at``
    is set (not needed for a cart made in this transaction)."""
    quantity = _validated_quantity(quantity)
    product_id = str(product_id)
    existing_ids = list(existing)
    products = remote.products_get(product_ids=[product_id, *existing_ids])
    product = products.get(product_id)
    if product is None:
        raise _product_error("product_not_found", ProductNotPurchasable, productId=product_id)
    if not product.purchasable:
        raise _product_error("product_archived", ProductNotPurchasable, productId=product_id)
    currencies = {products[pid].currency for pid in existing_ids if pid in products and pid != product_id}
    if currencies and product.currency not in currencies:
        raise CartCurrencyMismatch(details={"productId": product_id, "productCurrency": product.currency,
                                            "cartCurrency": sorted(currencies)[0]})
    if user_id:
        wanted = {part.external_id for part in product.bundle_items} or {product.external_id}
        owned = owned_external_ids(user_id=user_id, external_ids=wanted)
        if owned:
            raise AlreadyOwned(details={"productId": product_id, "externalIds": sorted(owned)})
    if product_id in existing:  # already in the cart: one seat, nothing to write
        return existing[product_id]
    # One INSERT … ON CONFLICT, no savepoint: a parallel request that added it meanwhile leaves one row.
    (item,) = CartItem.objects.bulk_create(
        [CartItem(cart_id=cart_id, product_id=product_id, quantity=quantity, added_at=now)],
        update_conflicts=True, unique_fields=["cart", "product_id"], update_fields=["quantity"])
    if touch:
        Cart.objects.filter(pk=cart_id).update(updated_at=now)
    return item


@transaction.atomic
def cart_item_remove(*, cart: Cart, item_id: int | str, now: datetime) -> None:
    try:
        deleted, _ = CartItem.objects.filter(cart=cart, pk=int(item_id)).delete()
    except (TypeError, ValueError):
        deleted = 0
    if not deleted:
        raise CartItemNotFound(details={"itemId": str(item_id)[:40]})
    Cart.objects.filter(pk=cart.pk).update(updated_at=now)


@transaction.atomic
def cart_coupon_set(*, cart: Cart, code: str, user_id, now: datetime) -> Cart:
    """Applies a coupon (checked now against the cart's lines; an empty code removes it)."""
    from orders.services.pricing import cart_quote

    code = (code or "").strip()
    if code:
        cart_quote(cart=cart, user_id=user_id, coupon_code=code, billing_country="")  # raises the coupon's error
    cart.coupon_code = code
    cart.updated_at = now
    cart.save(update_fields=["coupon_code", "updated_at"])
    return cart


@transaction.atomic
def cart_merge(*, anonymous_cart_id, user_id, now: datetime) -> Cart | None:
    """At login: the anonymous session's items join the user's cart (what the user owns is left out)."""
    try:
        anonymous = Cart.objects.select_for_update().filter(pk=anonymous_cart_id, user_id__isnull=True).first()
    except (ValueError, ValidationError):
        return None
    if anonymous is None:
        return None
    cart = cart_get_or_create(user_id=user_id, now=now)
    cart = Cart.objects.select_for_update().get(pk=cart.pk)
    present = set(cart.items.values_list("product_id", flat=True))
    for item in anonymous.items.all():
        if item.product_id in present:
            continue
        try:
            with transaction.atomic():
                cart_item_add(cart=cart, product_id=item.product_id, quantity=item.quantity, user_id=user_id, now=now)
        except ApplicationError:  # no longer purchasable (archived, owned, other currency): left out
            continue
    if anonymous.coupon_code and not cart.coupon_code:
        cart.coupon_code = anonymous.coupon_code
    cart.updated_at = now
    cart.save(update_fields=["coupon_code", "updated_at"])
    anonymous.delete()
    return cart
