"""cart_product_add: the API's add, the buyer's cart made if missing and the product added in one transaction."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.errors import ApplicationError
from orders.errors import AlreadyOwned, CartCurrencyMismatch
from orders.models import Cart, CartItem
from orders.services.carts import cart_product_add

pytestmark = pytest.mark.django_db


def test_a_new_buyer_gets_a_cart_with_the_product_in_four_statements(buyer, products,
                                                                      django_assert_num_queries):
    now = timezone.now()
    with django_assert_num_queries(6):  # the atomic block's savepoint pair, cart read, cart made, products, owned
        item = cart_product_add(user_id=buyer.pk, product_id="p1", now=now)  # + the item (fake catalog: no query)
    cart = Cart.objects.get(user_id=buyer.pk)
    assert item.cart_id == cart.pk and list(cart.items.values_list("product_id", flat=True)) == ["p1"]
    assert cart.created_at == cart.updated_at == now and cart.coupon_code == ""


def test_a_second_product_joins_the_same_cart_and_touches_it(buyer, products):
    now = timezone.now()
    first = cart_product_add(user_id=buyer.pk, product_id="p1", now=now)
    later = now + timedelta(minutes=3)
    second = cart_product_add(user_id=buyer.pk, product_id="p2", now=later)
    cart = Cart.objects.get(user_id=buyer.pk)
    assert first.cart_id == second.cart_id == cart.pk and cart.updated_at == later
    assert set(cart.items.values_list("product_id", flat=True)) == {"p1", "p2"}


def test_a_product_already_in_the_cart_is_answered_without_a_second_row(buyer, products):
    now = timezone.now()
    first = cart_product_add(user_id=buyer.pk, product_id="p1", now=now)
    again = cart_product_add(user_id=buyer.pk, product_id="p1", now=now + timedelta(minutes=1))
    assert again.pk == first.pk and CartItem.objects.filter(cart__user_id=buyer.pk).count() == 1
    assert Cart.objects.get(user_id=buyer.pk).updated_at == now  # nothing written


def test_a_refused_product_leaves_no_cart_behind(buyer, products):
    with pytest.raises(ApplicationError) as refused:
        cart_product_add(user_id=buyer.pk, product_id="nope", now=timezone.now())
    assert refused.value.code == "product_not_found"
    assert not Cart.objects.filter(user_id=buyer.pk).exists()


def test_the_cart_made_by_a_parallel_request_is_used(buyer, products):
    """The partial unique index decides: the INSERT writes nothing, the cart already there is read."""
    from orders.services import carts

    now = timezone.now()
    made = Cart.objects.create(user_id=buyer.pk, created_at=now, updated_at=now)
    real = carts._user_cart_with_items
    calls = []

    def first_sees_none(*, user_id):
        calls.append(user_id)
        return None if len(calls) == 1 else real(user_id=user_id)

    carts._user_cart_with_items = first_sees_none
    try:
        item = cart_product_add(user_id=buyer.pk, product_id="p1", now=now)
    finally:
        carts._user_cart_with_items = real
    assert len(calls) == 2 and item.cart_id == made.pk and Cart.objects.filter(user_id=buyer.pk).count() == 1


def test_the_rules_of_an_add_hold(buyer, products, buy, lms):
    products.add(id="e1", price="10.00", external_id="course-eur", currency="EUR")
    cart_product_add(user_id=buyer.pk, product_id="p2", now=timezone.now())
    with pytest.raises(CartCurrencyMismatch):
        cart_product_add(user_id=buyer.pk, product_id="e1", now=timezone.now())
    buy(buyer, "p1")
    with pytest.raises(AlreadyOwned) as refused:
        cart_product_add(user_id=buyer.pk, product_id="p1", now=timezone.now())
    assert refused.value.status_code == 409 and refused.value.code == "already_owned"
