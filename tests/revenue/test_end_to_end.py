"""From the learning app's own enrollment services to the revenue events, through the outbox."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from learning.services.enrollments import enrollment_open, enrollment_revoke_locked
from revenue.models import RevenueSale
from tests.learning.factories import CourseFactory, LmsUserFactory
from tests.revenue.conftest import revenue_events
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_purchased_enrollment_and_its_refund_reach_revenue(people, django_capture_on_commit_callbacks):
    course = CourseFactory(title="Data science")
    config_set(external_id=str(course.pk), instructor_email="teach@example.com", title="Data science",
               effective=(timezone.now() - timedelta(days=1)).date().isoformat(), now=timezone.now())
    learner = LmsUserFactory()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        opened = enrollment_open(user=learner, course=course, source="commerce", granted_at=now, order_id="ord-77",
                                 order_item_id="oi-77", amount=Decimal("199.00"), currency="USD",
                                 extra={"grossAmount": "199.00", "processorFee": "6.07"}, now=now)
    sale = RevenueSale.objects.get(enrollment_id=str(opened.enrollment.pk))
    assert (sale.order_id, sale.total_amount, sale.product_title) == ("ord-77", Decimal("192.93"), "Data science")
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_revoke_locked(enrollment=opened.enrollment, reason="refund", now=timezone.now(),
                                 refund_amount=Decimal("199.00"), currency="USD")
    assert [event["type"] for event in revenue_events()] == ["course_sale", "refund"]


def test_a_sale_approved_later_is_split_on_the_net_of_its_grant(people, django_capture_on_commit_callbacks):
    """The grant's processor fee is kept on the pending enrollment: the approval's sale uses it."""
    from learning.services.enrollments import enrollment_approve

    course = CourseFactory(title="Clinic", requires_approval=True)
    config_set(external_id=str(course.pk), instructor_email="teach@example.com", title="Clinic",
               effective=(timezone.now() - timedelta(days=1)).date().isoformat(), now=timezone.now())
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        opened = enrollment_open(user=LmsUserFactory(), course=course, source="commerce", granted_at=now,
                                 order_id="ord-78", order_item_id="oi-78", amount=Decimal("199.00"), currency="USD",
                                 extra={"grossAmount": "199.00", "processorFee": "6.07"}, now=now)
    assert opened.outcome == "pending_approval"
    assert not RevenueSale.objects.filter(enrollment_id=str(opened.enrollment.pk)).exists()
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_approve(enrollment=opened.enrollment, actor=None, now=timezone.now())
    sale = RevenueSale.objects.get(enrollment_id=str(opened.enrollment.pk))
    assert (sale.gross_amount, sale.processor_fee, sale.total_amount) == (
        Decimal("199.00"), Decimal("6.07"), Decimal("192.93"))
