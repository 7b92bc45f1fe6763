"""What a buyer owns (``owned_external_ids``): the rule behind 409 ``already_owned`` at cart, checkout and pay."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import EntitlementStatus, Order, OrderLine, OrderStatus
from orders.selectors import owned_external_ids
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def _order(user, *, status=OrderStatus.PAID, lines=()) -> Order:
    now = timezone.now()
    order = Order.objects.create(number="CL-" + uuid.uuid4().hex[:8].upper(), user_id=user.pk, status=status,
                                 currency="USD", subtotal=0, total=0, gateway="test", created_at=now, updated_at=now)
    for position, (external_id, total, refunded, entitlement) in enumerate(lines, start=1):
        OrderLine.objects.create(order=order, position=position, product_id=f"p-{external_id}", product_type="course",
                                 external_id=external_id, name=external_id, unit_price=total, subtotal=total,
                                 total=total, refunded_amount=refunded, entitlement_status=entitlement)
    return order


@pytest.mark.parametrize(("status", "total", "refunded", "entitlement", "owned"), [
    (OrderStatus.PAID, "10", "0", EntitlementStatus.PENDING, True),
    (OrderStatus.COMPLETED, "10", "0", EntitlementStatus.GRANTED, True),
    (OrderStatus.PARTIALLY_REFUNDED, "10", "4", EntitlementStatus.PENDING_APPROVAL, True),
    (OrderStatus.COMPLETED, "0", "0", EntitlementStatus.GRANTED, True),  # a free line stays owned
    (OrderStatus.PARTIALLY_REFUNDED, "10", "10", EntitlementStatus.GRANTED, False),  # refunded in full
    (OrderStatus.COMPLETED, "10", "0", EntitlementStatus.FAILED, False),
    (OrderStatus.COMPLETED, "10", "0", EntitlementStatus.REVOKED, False),
    (OrderStatus.PENDING, "10", "0", EntitlementStatus.PENDING, False),
    (OrderStatus.PAYMENT_FAILED, "10", "0", EntitlementStatus.PENDING, False),
    (OrderStatus.REFUNDED, "10", "10", EntitlementStatus.REVOKED, False),
    (OrderStatus.CANCELED, "10", "0", EntitlementStatus.PENDING, False),
])
def test_a_line_is_owned_while_its_order_is_paid_its_entitlement_held_and_it_is_not_refunded_in_full(
        status, total, refunded, entitlement, owned, django_assert_num_queries):
    buyer, other = UserFactory(), UserFactory()
    order = _order(buyer, status=status, lines=[("course-a", Decimal(total), Decimal(refunded), entitlement)])
    with django_assert_num_queries(1):
        found = owned_external_ids(user_id=buyer.pk, external_ids=["course-a", "course-b"])
    assert found == ({"course-a"} if owned else set())
    assert owned_external_ids(user_id=other.pk, external_ids=["course-a"]) == set()
    assert owned_external_ids(user_id=buyer.pk, external_ids=["course-a"], exclude_order_id=order.pk) == set()


def test_the_items_of_an_order_are_checked_in_the_same_query_other_orders_only(django_assert_num_queries):
    buyer = UserFactory()
    held = EntitlementStatus.GRANTED
    _order(buyer, lines=[("course-a", Decimal("10"), Decimal("0"), held), ("course-c", Decimal("5"), Decimal("0"), held)])
    pending = _order(buyer, status=OrderStatus.PENDING,
                     lines=[("course-a", Decimal("10"), Decimal("0"), EntitlementStatus.PENDING),
                            ("course-b", Decimal("10"), Decimal("0"), EntitlementStatus.PENDING)])
    with django_assert_num_queries(1):
        found = owned_external_ids(user_id=buyer.pk, lines_of_order_id=pending.pk, exclude_order_id=pending.pk)
    assert found == {"course-a"}
    assert owned_external_ids(user_id=buyer.pk, external_ids=[]) == set()
    assert owned_external_ids(user_id=None, external_ids=["course-a"]) == set()
