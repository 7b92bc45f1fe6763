"""The whole journey in the monolith, every app real, messages through the outbox after each commit:
publish → catalog → buy → enrollment → revenue event → ledger → refund → revocation → debits."""

from decimal import Decimal

import pytest
from django.utils import timezone

from identity.services.tokens import token_pair_issue
from integration.models import OutboxMessage
from learning.models import Enrollment, LmsUser
from learning.services.catalog import course_create, course_publish, department_create
from revenue.services.configs import ConfigChange, revenue_config_set
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_pair_issue(user=user).access}"}


@pytest.fixture
def people():
    instructor = UserFactory(email="teacher@example.com")
    creator = UserFactory(email="author@example.com")
    learner = UserFactory(email="student@example.com")
    return instructor, creator, learner


def _publish_course(price: str = "199.00"):
    department = department_create(name="Data")
    course = course_create(department=department, title="Pandas in practice", description="Hands on.",
                           suggested_price=Decimal(price), currency="USD", now=timezone.now())
    revenue_config_set(product_type="course", external_id=str(course.id), now=timezone.now(), change=ConfigChange(
        instructor_split=Decimal("0.30"), creator_split=Decimal("0.40"), platform_split=Decimal("0.30"),
        instructor_email="teacher@example.com", creator_email="author@example.com"))
    course_publish(course=course, now=timezone.now())
    return course


def _balance(api_client, user) -> dict:
    response = api_client.get("/api/v1/payouts/balance/", **bearer(user))
    assert response.status_code == 200, response.content
    return response.json()


def test_publish_buy_split_refund(api_client, people):
    instructor, creator, learner = people
    course = _publish_course()

    listing = api_client.get("/api/v1/catalog/products/", {"q": "Pandas"}).json()["results"]
    assert [p["name"] for p in listing] == ["Pandas in practice"], "the publish reached the catalog"
    product = listing[0]
    assert product["externalId"] == str(course.id) and Decimal(str(product["price"])) == Decimal("199.00")

    auth = bearer(learner)
    assert api_client.post("/api/v1/cart/items/", {"productId": product["id"]}, format="json",
                           **auth).status_code in (200, 201)
    checkout = api_client.post("/api/v1/checkout/", {}, format="json", **auth)
    assert checkout.status_code in (200, 201), checkout.content
    order_id = checkout.json()["orderId"]
    paid = api_client.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"},
                           format="json", **auth)
    assert paid.status_code == 200, paid.content

    order = api_client.get(f"/api/v1/orders/{order_id}/", **auth).json()
    assert order["status"] == "completed", order
    (line,) = order["lines"]
    assert line["entitlementStatus"] == "granted" and line["enrollmentId"]

    lms_user = LmsUser.objects.get(commerce_user_id=str(learner.id))
    enrollment = Enrollment.objects.get(pk=line["enrollmentId"])
    assert enrollment.status == "active" and enrollment.user_id == lms_user.pk

    # $199.00, fee 2.9% + 0.30 = 6.07, net 192.93: platform 57.88, creator 77.17, instructor 57.88.
    assert Decimal(str(_balance(api_client, instructor)["pendingBalance"])) == Decimal("57.88")
    assert Decimal(str(_balance(api_client, creator)["pendingBalance"])) == Decimal("77.17")
    assert not OutboxMessage.objects.exclude(status="delivered").exists(), list(
        OutboxMessage.objects.exclude(status="delivered").values_list("topic", "last_error"))

    from identity.models import Role, UserRole

    admin = UserFactory(email="ops@example.com")
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    refund = api_client.post(f"/api/v1/orders/{order_id}/refunds/", {"reason": "journey test"}, format="json",
                             **bearer(admin))
    assert refund.status_code in (200, 201), refund.content
    order = api_client.get(f"/api/v1/orders/{order_id}/", **auth).json()
    assert order["status"] == "refunded" and order["lines"][0]["entitlementStatus"] == "revoked"
    enrollment.refresh_from_db()
    assert enrollment.status == "revoked"
    assert Decimal(str(_balance(api_client, instructor)["pendingBalance"])) == Decimal("0")
    assert Decimal(str(_balance(api_client, creator)["pendingBalance"])) == Decimal("0")
    assert not OutboxMessage.objects.exclude(status="delivered").exists(), list(
        OutboxMessage.objects.exclude(status="delivered").values_list("topic", "last_error"))


def test_buying_a_course_one_already_has_refunds_it_and_keeps_the_enrollment(api_client, people):
    """Enrolled by staff first, then bought: the LMS answers already_enrolled, Commerce refunds the line, the
    LMS keeps the earlier enrollment, and no share is earned on money that went back."""
    from django.core.management import call_command

    from learning.services.enrollments import enrollment_create_manual
    from learning.services.users import lms_user_sync_from_commerce
    from payouts.models import RevenueLedgerEntry

    instructor, _creator, learner = people
    course = _publish_course()
    course.refresh_from_db()
    lms_learner = lms_user_sync_from_commerce(commerce_user_id=str(learner.id), email=learner.email,
                                              now=timezone.now())
    earlier = enrollment_create_manual(user=lms_learner, course=course, now=timezone.now()).enrollment
    product = api_client.get("/api/v1/catalog/products/", {"q": "Pandas"}).json()["results"][0]

    auth = bearer(learner)
    api_client.post("/api/v1/cart/items/", {"productId": product["id"]}, format="json", **auth)
    order_id = api_client.post("/api/v1/checkout/", {}, format="json", **auth).json()["orderId"]
    paid = api_client.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"},
                           format="json", **auth)
    assert paid.status_code == 200, paid.content

    order = api_client.get(f"/api/v1/orders/{order_id}/", **auth).json()
    assert order["status"] == "refunded", order
    assert Decimal(str(order["refundedAmount"])) == Decimal("199.00")
    earlier.refresh_from_db()
    assert earlier.status == "active", "the revoke of the refunded line leaves the enrollment it did not open"
    assert not RevenueLedgerEntry.objects.filter(order_id=order_id).exists()
    assert Decimal(str(_balance(api_client, instructor)["pendingBalance"])) == Decimal("0")
    assert not OutboxMessage.objects.exclude(status="delivered").exists(), list(
        OutboxMessage.objects.exclude(status="delivered").values_list("topic", "last_error"))
    call_command("reconcile", "all", stdout=__import__("io").StringIO())  # exits non-zero on a difference
