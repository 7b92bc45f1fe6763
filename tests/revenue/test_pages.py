"""The LMS pages: the configs list, the editor with its history, and My earnings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from revenue.models import RevenueConfig
from revenue.services.lifecycle import lifecycle_event_record
from tests.learning.factories import CourseFactory, CourseStaffFactory, LmsUserFactory
from tests.revenue.conftest import activated
from tests.revenue.factories import config_set
from tests.revenue.test_api import lms_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(db):
    return CourseFactory(title="Data science")


@pytest.fixture
def admin(client, people):
    user = LmsUserFactory(user_types=["staff", "global-admin"], email="lms-admin@example.com")
    lms_login(client, user)
    return user


def form(**overrides):
    today = timezone.now().date().isoformat()
    return {"instructor_email": "teach@example.com", "instructor_split": "0.30", "creator_email": "make@example.com",
            "creator_split": "0.40", "affiliate_split": "0", "platform_split": "0.30", "basis": "net",
            "release_policy": "on_completion", "effective_date": today, **overrides}


def test_anonymous_visitors_are_sent_to_the_lms_login(client):
    assert client.get("/lms/revenue/").status_code == 302
    assert client.get("/lms/earnings/").status_code == 302


def test_the_editor_saves_a_version_and_shows_the_history(client, admin, course):
    url = f"/lms/revenue/course/{course.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and "no revenue split yet" in page.content.decode()
    answer = client.post(url, form())
    assert answer.status_code == 302
    page = client.get(url).content.decode()
    assert "Data science" in page and "teach@example.com" in page and "lms-admin@example.com" in page
    assert 'data-testid="revenue-history"' in page
    assert RevenueConfig.objects.get().release_policy == "on_completion"
    listing = client.get("/lms/revenue/?q=data").content.decode()
    assert "Data science" in listing


def test_shares_that_do_not_sum_to_one_are_refused_on_the_page_with_the_reason(client, admin, course):
    answer = client.post(f"/lms/revenue/course/{course.pk}/", form(platform_split="0.20"))
    assert answer.status_code == 422
    assert "The shares sum to 0.9000, not 1" in answer.content.decode()
    assert not RevenueConfig.objects.exists()


def test_an_unknown_payee_is_shown_beside_its_field(client, admin, course):
    answer = client.post(f"/lms/revenue/course/{course.pk}/", form(creator_email="ghost@example.com"))
    assert answer.status_code == 422
    assert "No store account has this email" in answer.content.decode()


def test_the_editor_is_forbidden_to_the_courses_creator(client, people, course):
    lms_login(client, CourseStaffFactory(course=course, role="content-creator").user)
    assert client.get(f"/lms/revenue/course/{course.pk}/").status_code == 403
    assert client.post(f"/lms/revenue/course/{course.pk}/", form()).status_code == 403
    assert "Data science" not in client.get("/lms/revenue/").content.decode()


def test_the_editor_form_has_csrf_and_no_inline_script(client, admin, course):
    page = client.get(f"/lms/revenue/course/{course.pk}/").content.decode()
    assert "csrfmiddlewaretoken" in page
    assert "<script>" not in page and " onclick=" not in page
    assert "revenue/revenue.js" in page and "learning/learning.css" in page  # the LMS layout kept


def test_my_earnings_per_course_and_what_waits(client, people, course, django_assert_max_num_queries):
    config_set(external_id=str(course.pk), instructor_email="teach@example.com", release_policy="on_completion",
               title="Data science")
    now = timezone.now()
    for _ in range(3):
        payload = activated(course_id=str(course.pk), activated_at=now - timedelta(days=1))
        lifecycle_event_record(idempotency_key=f"a:{payload['enrollmentId']}", event="enrollment.activated",
                               payload=payload, now=now)
    lifecycle_event_record(idempotency_key="c1", event="enrollment.completed", now=now,
                           payload={**payload, "completedAt": now, "interactionMet": False})
    teacher = LmsUserFactory(commerce_user_id=str(people["instructor"].pk), email="teach@example.com")
    lms_login(client, teacher)
    with django_assert_max_num_queries(12):
        page = client.get("/lms/earnings/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Data science" in html
    assert "$173.64" in html  # 3 x 57.88 earned as the instructor
    assert "for your interaction with the learner" in html
    assert "for the learner to complete" in html
    waiting = client.get("/lms/earnings/?waiting=yes&q=data").content.decode()
    assert waiting.count("badge-held") == 3
    assert client.get("/lms/earnings/?status=released").content.decode().count("badge-released") == 0


def test_earnings_show_only_the_callers_own_shares(client, people, course):
    config_set(external_id=str(course.pk), instructor_email="teach@example.com", title="Data science")
    payload = activated(course_id=str(course.pk), activated_at=timezone.now())
    lifecycle_event_record(idempotency_key="a", event="enrollment.activated", payload=payload, now=timezone.now())
    lms_login(client, LmsUserFactory(commerce_user_id=str(people["other"].pk)))
    html = client.get("/lms/earnings/").content.decode()
    assert "Data science" not in html and "No sale has paid you a share yet" in html


def test_someone_without_revenue_rights_sees_no_split_and_costs_no_query_per_row(client, people,
                                                                                 django_assert_max_num_queries):
    for n in range(5):
        config_set(external_id=f"course-{n}", title=f"Course {n}")
    lms_login(client, LmsUserFactory(user_types=["learner"]))
    with django_assert_max_num_queries(10):
        html = client.get("/lms/revenue/").content.decode()
    assert "Course 1" not in html and "No revenue split that you manage" in html


def _shares_table(html: str) -> str:
    return html[html.index('data-testid="earnings-shares"'):]


@pytest.mark.parametrize(("currency", "amount", "shown", "raw"), [
    ("USD", "99.99", "$30.00", "30.0000"), ("JPY", "1000", "¥300", "300.0000"), ("KWD", "9.999", "KWD3.000", "3.0000")])
def test_every_amount_on_my_earnings_is_in_the_currencys_minor_unit(client, people, course, currency, amount,
                                                                    shown, raw):
    config_set(external_id=str(course.pk), instructor_email="teach@example.com", basis="gross", title="Data science")
    now = timezone.now()
    payload = activated(course_id=str(course.pk), activated_at=now, amount=amount, currency=currency, fee=None)
    lifecycle_event_record(idempotency_key="a", event="enrollment.activated", payload=payload, now=now)
    lms_login(client, LmsUserFactory(commerce_user_id=str(people["instructor"].pk), email="teach@example.com"))
    html = client.get("/lms/earnings/").content.decode()
    shares = _shares_table(html)
    assert shown in shares and shown in html[:html.index('data-testid="earnings-shares"')]
    assert raw not in html  # the stored 4 decimal places never reach the page


def test_the_waiting_filter_is_all_waiting_or_not_waiting_and_defaults_to_all(client, people, course):
    config_set(external_id=str(course.pk), instructor_email="teach@example.com", release_policy="on_completion",
               title="Data science")
    other = CourseFactory(title="Statistics")
    config_set(external_id=str(other.pk), instructor_email="teach@example.com", title="Statistics")
    now = timezone.now()
    for n, course_id in enumerate((str(course.pk), str(other.pk))):
        payload = activated(course_id=course_id, activated_at=now)
        lifecycle_event_record(idempotency_key=f"a{n}", event="enrollment.activated", payload=payload, now=now)
    lms_login(client, LmsUserFactory(commerce_user_id=str(people["instructor"].pk), email="teach@example.com"))
    html = client.get("/lms/earnings/").content.decode()
    select = html[html.index('name="waiting"'):]
    select = select[:select.index("</select>")]
    assert "Unknown" not in select and ">All<" in select and ">Waiting<" in select and ">Not waiting<" in select
    assert '<option value="" selected>All</option>' in select
    assert _shares_table(html).count("<tr>") == 3  # header + both shares
    assert _shares_table(client.get("/lms/earnings/?waiting=yes").content.decode()).count("badge-held") == 1
    not_waiting = _shares_table(client.get("/lms/earnings/?waiting=no").content.decode())
    assert "badge-held" not in not_waiting and "Statistics" in not_waiting
    # The course filter lists the payee's courses by name.
    course_select = html[html.index('name="course"'):]
    assert "Data science" in course_select[:course_select.index("</select>")]
    assert "Statistics" in _shares_table(client.get(f"/lms/earnings/?course={other.pk}").content.decode())
    assert "Data science" not in _shares_table(client.get(f"/lms/earnings/?course={other.pk}").content.decode())
