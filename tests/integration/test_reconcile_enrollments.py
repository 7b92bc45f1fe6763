"""``manage.py reconcile enrollments``: paid order lines against the LMS's entitlement lines, through the ports."""

import pytest
from django.utils import timezone

from integration.reconcile import enrollments_reconcile
from learning.models import Enrollment
from tests.integration.faults import (
    assert_zero_differences,
    buy,
    people,
    publish_course,
    reconcile_all,
    reconcile_fails,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bought(api_client):
    who = people()
    courses = [publish_course(title=f"Keyset {n}") for n in range(3)]
    return who, [buy(api_client, who["learner"], course) for course in courses]


def test_every_page_is_compared_and_all_well_is_zero_differences(bought, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):  # one query a page on each side (3 + 1 each), no query per line
        report = enrollments_reconcile(page_size=1)
    assert (report.first.order_lines, report.first.lms_lines, report.final.differences, report.fixed) == (3, 3, [], [])
    assert_zero_differences(reconcile_all())


def test_an_enrollment_the_lms_revoked_by_hand_is_a_difference_left_unfixed(bought):
    from learning.services.enrollments import enrollment_revoke

    _, orders = bought
    enrollment_revoke(enrollment=Enrollment.objects.get(commerce_order_id=orders[1]), now=timezone.now())
    out = reconcile_fails()
    assert "UNFIXED not_enrolled" in out and "is revoked on the LMS" in out, out
    assert "0 fixed, 1 left" in out


def test_an_lms_enrollment_for_no_paid_order_line_is_a_difference(bought):
    from learning.services.entitlements import entitlement_receive

    who, _ = bought
    course = publish_course(title="Never sold")
    entitlement_receive(event="entitlement.granted", order_id="00000000-0000-0000-0000-000000000001",
                        commerce_user_id=str(who["learner"].id), email=who["learner"].email, now=timezone.now(),
                        items=[{"productType": "course", "externalId": str(course.id),
                                "orderItemId": "00000000-0000-0000-0000-0000000000aa"}])
    out = reconcile_fails("enrollments")
    assert "UNFIXED unpaid_enrollment" in out and "which is no paid order line" in out, out


def test_the_lms_side_is_read_over_signed_http_when_split(bought, live_server, settings):
    """The LMS's lines come through ``LearningPort`` over HTTP (service token, the route table's path)."""
    from identity.models import SERVICE_SCOPES
    from integration.ports.learning import learning_port
    from tests.identity.factories import ServiceClientFactory

    ServiceClientFactory(client_id="reconcile-test", scopes=list(SERVICE_SCOPES))
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "reconcile-test", "s3cret-s3cret-s3cret"
    settings.INTEGRATION_FORCE_HTTP = True
    settings.COMMERCE_BASE_URL = settings.LMS_BASE_URL = live_server.url
    assert type(learning_port()).__name__ == "HttpLearningPort"
    report = enrollments_reconcile(page_size=2)
    assert (report.first.order_lines, report.first.lms_lines, report.final.differences) == (3, 3, [])
