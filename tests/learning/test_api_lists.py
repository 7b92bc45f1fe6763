"""The LMS's list endpoints filter and search: departments by name, a learner's enrollments by status (an
unknown status is a clear 400, never a 500)."""

import pytest

from tests.learning.factories import (
    CourseFactory,
    EnrollmentFactory,
    LmsUserFactory,
    MembershipFactory,
    department,
)
from tests.learning.test_api_learning import _client

pytestmark = pytest.mark.django_db


def test_departments_are_searched_by_name(django_assert_max_num_queries):
    school = department("School of Technology")
    department("Web Development", school)
    department("Data Science", school)
    client = _client(MembershipFactory(department=school, role="department-admin").user)
    assert {d["name"] for d in client.get("/api/v2/departments/").json()["results"]} == {
        "School of Technology", "Web Development", "Data Science"}
    with django_assert_max_num_queries(12):
        found = client.get("/api/v2/departments/", {"q": " web "}).json()
    assert [d["name"] for d in found["results"]] == ["Web Development"] and found["next"] is None


def test_a_learner_filters_their_enrollments_by_status():
    learner = LmsUserFactory()
    active = EnrollmentFactory(user=learner, status="active", course=CourseFactory(title="Active one"))
    revoked = EnrollmentFactory(user=learner, status="revoked", course=CourseFactory(title="Revoked one"))
    EnrollmentFactory(status="active")  # someone else's
    client = _client(learner)

    def ids(**params):
        answer = client.get("/api/v2/me/enrollments/", params)
        assert answer.status_code == 200, answer.content
        return {row["id"] for row in answer.json()["results"]}

    assert ids() == {str(active.pk)}  # the default leaves revoked and rejected out
    assert ids(status="revoked") == {str(revoked.pk)}
    assert ids(status=["active", "revoked"]) == {str(active.pk), str(revoked.pk)}
    bad = client.get("/api/v2/me/enrollments/", {"status": "lost"})
    assert bad.status_code == 400
    assert "lost" in str(bad.json()["error"])
