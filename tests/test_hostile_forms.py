"""Forms tampered with on the server-rendered pages: a posted id that is no id, a country that is no code, a
``next`` that is a bare word, an answer in digits of another script. Each is a 4xx or the page's own message,
never a 500 (found by fuzzing the pages, each once a 500)."""

import uuid

import pytest
from django.conf import settings

from learning.models import Enrollment
from tests.identity.factories import UserFactory
from tests.learning.conftest import lms_login
from tests.learning.factories import (
    CourseFactory,
    EnrollmentFactory,
    ExamFactory,
    MembershipFactory,
    QuestionFactory,
    department,
)

pytestmark = pytest.mark.django_db

NOT_IDS = ["x", "1 OR 1=1", "²", "9" * 40, "../etc/passwd"]


@pytest.fixture
def admin_client(client):
    web = department("Web")
    admin = MembershipFactory(department=web, role="department-admin").user
    lms_login(client, admin)
    return client, web


@pytest.mark.skipif(not settings.SERVES_LMS, reason="the LMS's pages")
@pytest.mark.parametrize("value", NOT_IDS)
def test_the_lms_admin_pages_refuse_a_posted_id_that_is_no_id(admin_client, value):
    client, web = admin_client
    pending = EnrollmentFactory(course=CourseFactory(department=web, requires_approval=True), status="pending")
    answers = [
        client.post("/lms/admin/", {"name": "New", "parent": value}),
        client.post(f"/lms/admin/departments/{web.pk}/memberships/", {"remove": value}),
        client.post(f"/lms/admin/departments/{web.pk}/programs/", {"action": "publish", "program": value}),
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    bulk = client.post("/lms/admin/approvals/bulk/", {"action": "approve", "enrollment": [value, str(pending.pk)]})
    assert bulk.status_code == 302  # the valid one approved, the other counted as outside the departments
    assert Enrollment.objects.get(pk=pending.pk).status == "active"


@pytest.mark.skipif(not settings.SERVES_LMS, reason="the LMS's pages")
def test_an_exam_answer_in_superscript_digits_is_the_exam_s_refusal_not_a_crash(client):
    enrollment = EnrollmentFactory()
    exam = ExamFactory(course=enrollment.course)
    question = QuestionFactory(exam=exam, position=1)
    lms_login(client, enrollment.user)
    answer = client.post(f"/lms/exams/{exam.pk}/", {f"q-{question.pk}": "²"})
    assert 400 <= answer.status_code < 500


@pytest.mark.skipif(not settings.SERVES_COMMERCE, reason="the store's pages")
def test_the_cart_s_next_that_is_a_bare_word_goes_back_to_the_cart(client):
    response = client.post("/cart/items/", {"product_id": str(uuid.uuid4()), "next": "x"})
    assert response.status_code == 302 and response["Location"] == "/cart/"


@pytest.mark.skipif(not settings.SERVES_COMMERCE, reason="the store's pages")
@pytest.mark.parametrize("country", ["²", "٣٣", "D\u0301E", "DEU", "ZZ"])
def test_the_checkout_page_answers_a_country_that_is_no_code_with_its_message(client, country):
    from orders.errors import InvalidCountry
    from orders.services.pricing import _checked_country

    with pytest.raises(InvalidCountry):
        _checked_country(country)
    client.force_login(UserFactory(verified=True))
    assert client.get("/checkout/", {"billing_country": country}).status_code < 500
