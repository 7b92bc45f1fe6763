"""What the fault tests share: a real course sold through the real apps, and ``manage.py reconcile all``.

Every app is real (catalog, orders with the test gateway, learning, revenue, payouts); messages go
through the outbox. After each fault and its recovery a test calls :func:`reconcile_all` and asserts it
found no difference it could not fix: every paid order completed or refunded, every commerce enrollment
matching a paid order line and back, every balance equal to its ledger.
"""

import io
from decimal import Decimal

from django.core.management import CommandError, call_command
from django.utils import timezone

from identity.services.tokens import token_pair_issue
from integration import registry
from tests.identity.factories import UserFactory


class Flaky:
    """A topic's real receiver behind a switch: while ``down`` every delivery raises ``error`` (a 500 from
    ``ServerError``, no answer from a timeout), then it answers as the real one. Reply handlers stay."""

    def __init__(self, topic: str, error: Exception):
        state = registry.snapshot()
        self.topic, self.error, self.real, self.down, self.calls = topic, error, state["handlers"][topic], True, 0
        state["handlers"][topic] = self
        registry.restore(state)

    def __call__(self, message, *, delivery):
        self.calls += 1
        if self.down:
            raise self.error
        return self.real(message, delivery=delivery)


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_pair_issue(user=user).access}"}


def people() -> dict:
    return {"instructor": UserFactory(email="fault-teacher@example.com"),
            "creator": UserFactory(email="fault-author@example.com"),
            "learner": UserFactory(email="fault-learner@example.com")}


def publish_course(*, title: str, price: str = "100.00", requires_approval: bool = False):
    """A published course with a revenue split (30/40/30) whose payees are ``people()``'s instructor and creator."""
    from learning.models import Department
    from learning.services.catalog import course_create, course_publish, department_create
    from revenue.services.configs import ConfigChange, revenue_config_set

    now = timezone.now()
    department = Department.objects.filter(name="Faults").first() or department_create(name="Faults")
    course = course_create(department=department, title=title, description="Fault tolerance.",
                           suggested_price=Decimal(price), currency="USD", requires_approval=requires_approval,
                           now=now)
    revenue_config_set(product_type="course", external_id=str(course.id), now=now, change=ConfigChange(
        instructor_split=Decimal("0.30"), creator_split=Decimal("0.40"), platform_split=Decimal("0.30"),
        instructor_email="fault-teacher@example.com", creator_email="fault-author@example.com"))
    return course_publish(course=course, now=now)


def product_id(course) -> str:
    from catalog.models import Product

    return str(Product.objects.get(external_id=str(course.id)).id)


def buy(api_client, learner, course) -> str:
    """Cart, checkout and payment (test gateway) over the API; answers the order id."""
    auth = bearer(learner)
    added = api_client.post("/api/v1/cart/items/", {"productId": product_id(course)}, format="json", **auth)
    assert added.status_code in (200, 201), added.content
    checkout = api_client.post("/api/v1/checkout/", {}, format="json", **auth)
    assert checkout.status_code in (200, 201), checkout.content
    order_id = checkout.json()["orderId"]
    paid = api_client.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"}, format="json",
                           **auth)
    assert paid.status_code == 200, paid.content
    return order_id


def refund(api_client, order_id: str) -> None:
    from identity.models import Role, UserRole

    admin = UserFactory()
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    answer = api_client.post(f"/api/v1/orders/{order_id}/refunds/", {"reason": "fault test"}, format="json",
                             **bearer(admin))
    assert answer.status_code in (200, 201), answer.content


def reconcile_all(*names: str) -> str:
    """``manage.py reconcile all`` (or ``names``): its output; fails the test with the output on a difference left."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("reconcile", *(names or ("all",)), stdout=out, stderr=err)
    except CommandError as exc:
        raise AssertionError(f"reconcile left differences: {exc}\n{out.getvalue()}{err.getvalue()}") from None
    return out.getvalue()


def reconcile_fails(*names: str) -> str:
    """``manage.py reconcile``, which must exit non-zero: its output."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("reconcile", *(names or ("all",)), stdout=out, stderr=err)
    except CommandError as exc:
        return f"{out.getvalue()}{err.getvalue()}{exc}"
    raise AssertionError(f"reconcile found nothing wrong:\n{out.getvalue()}")


def assert_zero_differences(output: str) -> None:
    assert "0 difference(s) found, 0 fixed, 0 left" in output or " fixed, 0 left" in output, output
    assert "UNFIXED" not in output, output
    assert "no differences left" in output, output
    assert "every balance equals its ledger entries" in output, output


def assert_consistent() -> None:
    """The three promises checked straight in the tables too (not only through the command's own words)."""
    from learning.models import EntitlementLine
    from orders.models import Order, OrderLine

    assert not Order.objects.filter(status="paid").exists(), list(Order.objects.filter(status="paid").values(
        "number", "lines__entitlement_status", "lines__entitlement_error"))
    for line in OrderLine.objects.filter(order__status__in=["completed", "partially_refunded"]).exclude(
            entitlement_status="revoked"):
        lms = EntitlementLine.objects.select_related("enrollment").get(order_item_id=str(line.id))
        assert lms.state == "granted" and lms.enrollment.status in ("pending", "active", "completed"), line
    for lms in EntitlementLine.objects.select_related("enrollment").filter(created_enrollment=True,
                                                                           enrollment__status__in=["pending", "active",
                                                                                                   "completed"]):
        line = OrderLine.objects.select_related("order").get(pk=lms.order_item_id)
        assert line.order.status in ("completed", "partially_refunded") and line.entitlement_status != "revoked"
