"""LearningPort.enrollments_completed: Commerce's refund check, per order item of one buyer."""

import pytest
from django.utils import timezone

from integration.ports.learning import learning_port
from learning.models import CourseCompletion, Enrollment
from tests.learning.conftest import bearer, service_token
from tests.learning.factories import CourseFactory
from tests.learning.test_entitlements import _deliver, _item, _message

pytestmark = pytest.mark.django_db

PATH = "/api/v2/integration/enrollments/completed"


def _grant_two():
    first, second = CourseFactory(), CourseFactory()
    _deliver(_message([_item(first, line="oi-1"), _item(second, line="oi-2")]))
    return Enrollment.objects.get(course=first), Enrollment.objects.get(course=second)


def test_completed_by_status_or_by_the_recorded_completion_and_unknown_lines_are_not(django_assert_max_num_queries):
    done, in_progress = _grant_two()
    Enrollment.objects.filter(pk=done.pk).update(status="completed", completed_at=timezone.now())
    with django_assert_max_num_queries(3):
        answer = learning_port().enrollments_completed(commerce_user_id="cu-1",
                                                       order_item_ids=["oi-2", "oi-1", "oi-unknown"])
    assert [(i.order_item_id, i.completed, i.enrollment_id) for i in answer.items] == [
        ("oi-2", False, str(in_progress.pk)), ("oi-1", True, str(done.pk)), ("oi-unknown", False, None)]
    assert answer.items[0].status == "active"

    CourseCompletion.objects.create(user=in_progress.user, course=in_progress.course, completed_at=timezone.now())
    again = learning_port().enrollments_completed(commerce_user_id="cu-1", order_item_ids=["oi-2"])
    assert again.items[0].completed is True and again.items[0].completed_at is not None


def test_another_buyers_order_lines_are_not_reported():
    done, _ = _grant_two()
    Enrollment.objects.filter(pk=done.pk).update(status="completed", completed_at=timezone.now())
    answer = learning_port().enrollments_completed(commerce_user_id="someone-else", order_item_ids=["oi-1"])
    assert answer.items[0].completed is False and answer.items[0].enrollment_id is None


def test_an_already_enrolled_line_reports_the_enrollment_it_joined():
    course = CourseFactory()
    _deliver(_message([_item(course, line="oi-1")]))
    _deliver(_message([_item(course, line="oi-9")], order="ord-2"))
    Enrollment.objects.update(status="completed", completed_at=timezone.now())
    answer = learning_port().enrollments_completed(commerce_user_id="cu-1", order_item_ids=["oi-9"])
    assert answer.items[0].completed is True


def test_the_endpoint_needs_a_service_token_and_refuses_bad_input(client):
    assert client.post(PATH, {"commerceUserId": "cu-1", "orderItemIds": ["x"]},
                       content_type="application/json").status_code == 401
    auth = bearer(service_token("users:read"))
    refused = client.post(PATH, {"commerceUserId": "cu-1", "orderItemIds": []}, content_type="application/json",
                          **auth)
    assert refused.status_code == 400 and refused.json()["error"]["code"]
    assert client.post(PATH, {"commerceUserId": "cu-1", "orderItemIds": ["x"]}, content_type="application/json",
                       **bearer(service_token("catalog:read"))).status_code == 403
    ok = client.post(PATH, {"commerceUserId": "cu-1", "orderItemIds": ["x"]}, content_type="application/json", **auth)
    assert ok.status_code == 200 and ok.json() == {"items": [{"orderItemId": "x", "completed": False}]}
