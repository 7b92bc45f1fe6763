"""The commerce-admin's lists of orders, payments, refunds, tax rates, Stripe events and enrollment statuses:
search and filters answer, the records cannot be added or deleted, and a list costs the same statements
for 2 rows as for 8 (no query per row)."""

import pytest

from orders.models import Refund
from orders.services.refunds import refund_create
from tests.admin_lists import assert_lists_flat
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

LISTS = ["/admin/orders/order/", "/admin/orders/payment/", "/admin/orders/refund/",
         "/admin/orders/taxrate/", "/admin/orders/stripeevent/", "/admin/orders/enrollmentstatusreceipt/"]


@pytest.fixture
def staff(client, commerce_admin):
    client.force_login(commerce_admin)
    return client


def _orders(buy, lms, count: int) -> list:
    from django.utils import timezone

    orders = []
    for _ in range(count):
        order = buy(UserFactory(verified=True), "p1", "p2")
        refund_create(order_id=order.pk, reason="changed my mind", initiator=Refund.Initiator.ADMIN,
                      actor="admin:tests", now=timezone.now())
        orders.append(order)
    return orders


def test_every_list_costs_the_same_for_two_orders_as_for_eight(staff, buy, lms, django_assert_max_num_queries):
    _orders(buy, lms, 2)
    assert_lists_flat(staff, LISTS, more=lambda: _orders(buy, lms, 6), max_queries=django_assert_max_num_queries,
                      most=16)  # a commerce-admin's roles and permissions are read too


def test_search_and_filters_find_the_order(staff, buy, lms):
    first, second = _orders(buy, lms, 2)
    for url in [f"/admin/orders/order/?q={first.number}", f"/admin/orders/payment/?q={first.number}",
                f"/admin/orders/refund/?q={first.number}"]:
        page = staff.get(url).content.decode()
        assert first.number in page and second.number not in page, url
    first.refresh_from_db()
    assert first.status == "refunded"
    assert first.number in staff.get("/admin/orders/order/", {"status__exact": "refunded"}).content.decode()
    assert first.number not in staff.get("/admin/orders/order/", {"status__exact": "completed"}).content.decode()
    for url in ["/admin/orders/order/", "/admin/orders/payment/", "/admin/orders/refund/",
                "/admin/orders/stripeevent/", "/admin/orders/enrollmentstatusreceipt/"]:
        assert b'class="toplinks"' in staff.get(url).content, url  # the date drill-down


def test_money_records_are_neither_added_nor_deleted(staff, buy, lms):
    order = _orders(buy, lms, 1)[0]
    payment, refund = order.payments.get(), order.refunds.get()
    for url in ["/admin/orders/order/add/", "/admin/orders/payment/add/", "/admin/orders/refund/add/",
                f"/admin/orders/order/{order.pk}/delete/", f"/admin/orders/payment/{payment.pk}/delete/",
                f"/admin/orders/refund/{refund.pk}/delete/"]:
        assert staff.get(url).status_code == 403, url
