"""The Django admin's LMS actions call the services; seed.learning is idempotent."""

import io

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from integration import registry
from integration.topics import Topic
from learning.models import Course, Department, Enrollment, Program
from tests.learning.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


def _request():
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = RequestFactory().post("/admin/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_admin_actions_publish_and_approve_through_the_services(outbox):
    course = CourseFactory(status="draft", published_at=None)
    site._registry[Course].publish(_request(), Course.objects.filter(pk=course.pk))
    assert Course.objects.get(pk=course.pk).status == "published" and outbox(Topic.CATALOG_SYNC)
    pending = EnrollmentFactory(course=course, status="pending", commerce_order_id="o", commerce_order_item_id="l")
    site._registry[Enrollment].approve(_request(), Enrollment.objects.filter(pk=pending.pk))
    assert Enrollment.objects.get(pk=pending.pk).status == "active" and outbox(Topic.ENROLLMENT_STATUS)


@pytest.mark.skipif(not registry.has_provider("seed.identity"), reason="needs the identity app's demo accounts")
def test_the_demo_data_is_idempotent():
    registry.get_provider("seed.identity")(stdout=io.StringIO())
    seed = registry.get_provider("seed.learning")
    seed(stdout=io.StringIO())
    counts = (Department.objects.count(), Course.objects.count(), Program.objects.count(), Enrollment.objects.count())
    out = io.StringIO()
    seed(stdout=out)
    assert (Department.objects.count(), Course.objects.count(), Program.objects.count(),
            Enrollment.objects.count()) == counts
    assert counts[0] == 5 and counts[1] == 4 and counts[2] == 1
    assert Course.objects.filter(status="published", requires_approval=True).exists()
    # The learner's one enrollment given by staff; the pending-approval ones come from the store's demo orders.
    assert set(Enrollment.objects.values_list("status", flat=True)) == {"active"}
    assert "learner@example.com" in out.getvalue()
