"""``GET|PUT /api/v2/courses/{id}/revenue-config/`` as shared/API.md writes the body."""

import pytest
from django.utils import timezone

from integration.topics import Topic
from revenue.models import RevenueConfig
from tests.learning.factories import CourseFactory, CourseStaffFactory, LmsUserFactory, MembershipFactory
from tests.revenue.conftest import messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(db):
    return CourseFactory(title="Data science")


@pytest.fixture
def url(course):
    return f"/api/v2/courses/{course.pk}/revenue-config/"


def lms_login(client, user) -> None:
    session = client.session
    session["_lms_user_id"] = str(user.pk)
    session.save()


@pytest.fixture
def admin_client(client, people):
    lms_login(client, LmsUserFactory(user_types=["staff", "global-admin"]))
    return client


def body(**overrides):
    return {"instructorEmail": "teach@example.com", "instructorSplit": "0.30", "creatorEmail": "make@example.com",
            "creatorSplit": "0.40", "platformSplit": "0.30", "basis": "net", "releasePolicy": "on_completion",
            "effectiveDate": timezone.now().date().isoformat(), **overrides}


def test_put_then_get_the_config_with_its_history(admin_client, people, url):
    answer = admin_client.put(url, body(), content_type="application/json")
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert (data["instructorSplit"], data["creatorSplit"], data["platformSplit"], data["affiliateSplit"]) == (
        "0.3000", "0.4000", "0.3000", "0.0000")
    assert data["instructorCommerceUserId"] == str(people["instructor"].pk)
    assert data["releasePolicy"] == "on_completion" and data["basis"] == "net"
    assert len(data["history"]) == 1
    admin_client.put(url, body(creatorSplit=0.5, platformSplit=0.2), content_type="application/json")
    got = admin_client.get(url).json()
    assert got["creatorSplit"] == "0.5000"
    assert [version["supersededAt"] is not None for version in got["history"]] == [False, True]


def test_shares_that_do_not_sum_to_one_get_a_clear_422_and_nothing_is_written(admin_client, url):
    answer = admin_client.put(url, body(platformSplit="0.35"), content_type="application/json")
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "revenue_shares_not_one"
    assert "1.0500" in error["message"] and error["details"]["sum"] == "1.0500"
    assert not RevenueConfig.objects.exists() and not messages(Topic.ROLE_GRANT)


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"instructorSplit": "1.5"}, 400, "validation_error"),
    ({"basis": "sideways"}, 400, "validation_error"),
    ({"creatorEmail": "stranger@example.com"}, 422, "revenue_payee_not_found"),
    ({"creatorEmail": ""}, 422, "revenue_payee_missing"),
])
def test_bad_input_is_refused_with_a_reason(admin_client, url, change, status, code):
    answer = admin_client.put(url, body(**change), content_type="application/json")
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert not RevenueConfig.objects.exists()


def test_an_unknown_config_is_404_and_a_stranger_is_403(client, people, url):
    stranger = LmsUserFactory(user_types=["staff"])
    lms_login(client, stranger)
    assert client.get(url).json()["error"]["code"] == "revenue_config_forbidden"
    assert client.put(url, body(), content_type="application/json").status_code == 403
    lms_login(client, LmsUserFactory(user_types=["global-admin"]))
    answer = client.get(url)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "revenue_config_not_found"


@pytest.mark.parametrize(("role", "allowed"), [("department-admin", True), ("content-admin", True),
                                               ("billing-admin", True), ("instructor", False)])
def test_department_roles_that_may_edit_the_split(client, people, course, url, role, allowed):
    member = MembershipFactory(department=course.department, role=role).user
    lms_login(client, member)
    answer = client.put(url, body(), content_type="application/json")
    assert answer.status_code == (200 if allowed else 403), answer.json()


def test_the_courses_own_creator_may_not_set_their_own_share(client, people, course, url):
    creator = CourseStaffFactory(course=course, role="content-creator").user
    lms_login(client, creator)
    assert client.put(url, body(), content_type="application/json").status_code == 403


def test_the_title_comes_from_the_learning_app(admin_client, course, url):
    assert admin_client.put(url, body(), content_type="application/json").json()["title"] == "Data science"


def test_anonymous_callers_are_refused(client, url):
    assert client.get(url).status_code in {401, 403}


def test_program_configs_have_their_own_endpoint(admin_client, url):
    answer = admin_client.put("/api/v2/programs/prog-3/revenue-config/", body(), content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["productType"] == "program"
    assert admin_client.get(url).status_code == 404


def test_a_commerce_bearer_token_of_an_lms_admin_is_accepted(api_client, people, url):
    from identity.services.tokens import token_pair_issue

    account = people["other"]
    LmsUserFactory(commerce_user_id=str(account.pk), email=account.email, user_types=["staff", "global-admin"])
    token = token_pair_issue(user=account).access_token
    answer = api_client.put(url, body(), format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["changedBy"] == account.email
    refused = api_client.get(url, HTTP_AUTHORIZATION="Bearer not.a.token")
    assert refused.status_code == 401
