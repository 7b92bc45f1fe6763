"""Each purchase stage takes a bounded number of SQL statements, the same for one line as for several.

Against the real catalog (``CatalogPort``); statements are counted as Django logs them inside the test's
transaction (savepoints included). The LMS, revenue and ledger handlers are other apps' and bounded in
their own tests; here the LMS answer is stored through orders' reply handler directly.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from integration.models import OutboxMessage
from orders.models import Order, OrderStatus
from orders.services.carts import cart_product_add
from orders.services.checkout import checkout_create
from orders.services.fulfilment import entitlement_answer_store
from orders.services.payments import order_pay
from tests.catalog.factories import ProductFactory, bundle_of

pytestmark = pytest.mark.django_db


# Each atomic block is a savepoint here (two more statements); a bundle adds its items' query.
CART_FIRST_ITEM = 8  # cart and items read, cart made, products (+ bundle items), owned, INSERT .. ON CONFLICT
CART_NEXT_ITEM = 7  # cart and items read, products, owned, INSERT .. ON CONFLICT, cart touched
CHECKOUT = 12  # cart lock, items, products (+ bundle items), tax rate, owned, unpaid orders, order, lines, timeline
# attempt (order lock with its lines, owned, latest attempt, INSERT), test gateway (INSERT), record (order
# lock, payment's conditional UPDATE, order UPDATE and lines' fees (1 on PostgreSQL, 2 elsewhere), identity's
# user_get (1), outbox (1), timeline, cart emptied); three atomic blocks
PAY = {"postgresql": 18}.get(connection.vendor, 19)
# the order and its lines locked (1), lines and order UPDATE (1 on PostgreSQL, 2 elsewhere), timeline: not per line
ANSWER = {"postgresql": 3}.get(connection.vendor, 4)


def _grant_answer(order):
    message = OutboxMessage.objects.get(aggregate_key=f"order:{order.pk}")
    return [SimpleNamespace(order_item_id=item["orderItemId"], external_id=item["externalId"], status="granted",
                            enrollment_id=f"enr-{n}", error=None)
            for n, item in enumerate(message.payload["items"])]


@pytest.mark.parametrize("shape", ["one course", "three courses", "a bundle of three"])
def test_each_stage_is_bounded_whatever_the_number_of_lines(shape, buyer, lms, django_assert_max_num_queries):
    courses = [ProductFactory(suggested_price=Decimal(price)) for price in ("60.00", "40.00", "25.00")]
    wanted = {"one course": courses[:1], "three courses": courses,
              "a bundle of three": [bundle_of(*courses, price=Decimal("99.00"))]}[shape]
    now = timezone.now()
    with django_assert_max_num_queries(CART_FIRST_ITEM):
        cart_product_add(user_id=buyer.pk, product_id=str(wanted[0].pk), now=now)
    for product in wanted[1:]:
        with django_assert_max_num_queries(CART_NEXT_ITEM):
            cart_product_add(user_id=buyer.pk, product_id=str(product.pk), now=now)
    with django_assert_max_num_queries(CHECKOUT):
        order = checkout_create(user_id=buyer.pk, now=now, billing_country="US")
    with django_assert_max_num_queries(PAY):
        order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    results = _grant_answer(order)
    assert len(results) == (1 if shape == "one course" else 3)
    with django_assert_max_num_queries(ANSWER):
        entitlement_answer_store(order_id=str(order.pk), event="entitlement.granted", results=results,
                                 lms_user_id="lms-1", now=timezone.now())
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.COMPLETED and order.lms_user_id == "lms-1"
    assert set(order.lines.values_list("entitlement_status", flat=True)) == {"granted"}


def test_the_answer_locks_the_order_before_its_lines(buyer, lms):
    """One statement locks both, the order's table first in the join (as every other writer locks them)."""
    from django.test.utils import CaptureQueriesContext

    course = ProductFactory(suggested_price=Decimal("60.00"))
    now = timezone.now()
    cart_product_add(user_id=buyer.pk, product_id=str(course.pk), now=now)
    order = checkout_create(user_id=buyer.pk, now=now)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=now, payment_method="pm_card_visa")
    results = _grant_answer(order)
    with CaptureQueriesContext(connection) as queries:
        entitlement_answer_store(order_id=str(order.pk), event="entitlement.granted", results=results,
                                 lms_user_id="lms-1", now=timezone.now())
    first = queries.captured_queries[0]["sql"]
    assert 'FROM "orders_order" INNER JOIN "orders_orderline"' in first
    if connection.features.has_select_for_update:
        assert first.rstrip().endswith("FOR UPDATE")
