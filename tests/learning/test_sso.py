"""SSO from the store into the LMS (spec 5.1, 8.2): the callback, the session, the pages around it."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from learning.models import LmsUser
from learning.sessions import SESSION_KEY
from tests.learning.conftest import FakeIdentity, sso_begin, sso_post
from tests.learning.factories import LmsUserFactory

pytestmark = pytest.mark.django_db

LOCAL_CACHE = {alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"sso-tests-{alias}"}
               for alias in ("default", "security")}


def test_a_good_token_creates_the_lms_user_and_opens_the_lms_session(client, fake_identity):
    token = fake_identity.issue(user_id="c-42", email="ada@example.com")
    client.get("/lms/sso/")
    before = client.session.session_key

    response = sso_post(client, {"token": token})

    assert response.status_code == 302 and response["Location"] == "/lms/"
    user = LmsUser.objects.get(commerce_user_id="c-42")
    assert (user.email, user.user_types, user.is_active) == ("ada@example.com", ["learner"], True)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.session.session_key != before  # rotated at login
    page = client.get("/lms/")
    assert page.status_code == 200
    assert b"ada@example.com" in page.content and b"My courses" in page.content


def test_a_returning_user_is_updated_not_duplicated(client, fake_identity):
    existing = LmsUserFactory(commerce_user_id="c-7", email="old@example.com", user_types=["staff"])
    sso_post(client, {"token": fake_identity.issue(user_id="c-7", email="new@example.com")})
    existing.refresh_from_db()
    assert LmsUser.objects.count() == 1
    assert (existing.email, existing.user_types) == ("new@example.com", ["staff"])


@pytest.mark.parametrize("token", ["not-a-token", ""])
def test_an_invalid_token_gets_the_log_in_again_page_and_creates_nothing(client, fake_identity, token):
    response = sso_post(client, {"token": token})
    assert response.status_code == 401
    html = response.content.decode()
    assert "Please log in again" in html and 'href="/account/login/"' in html
    assert 'class="site-header"' in html  # the site's layout
    assert LmsUser.objects.count() == 0
    assert SESSION_KEY not in client.session


def test_an_expired_token_is_refused_like_an_invalid_one(client, fake_identity):
    token = fake_identity.issue()
    fake_identity.tokens[token] = {"valid": False, "error": {"code": "EXPIRED_TOKEN", "message": "Expired."}}
    assert sso_post(client, {"token": token}).status_code == 401
    assert LmsUser.objects.count() == 0


def test_phase_one_refuses_sso_with_a_clear_page(client, fake_identity):
    fake_identity.set(1)
    response = sso_post(client, {"token": fake_identity.issue()})
    assert response.status_code == 403
    assert b"not available yet" in response.content and b"/lms/login/" in response.content
    assert fake_identity.validations == 0
    assert LmsUser.objects.count() == 0


def test_the_token_is_never_taken_from_the_query_string(client, fake_identity):
    token = fake_identity.issue()
    response = client.get(f"/lms/sso/callback?token={token}")
    assert response.status_code == 302 and response["Location"] == "/lms/sso/"
    response = client.post(f"/lms/sso/callback?token={token}", {"state": sso_begin(client)})
    assert response.status_code == 401
    assert LmsUser.objects.count() == 0 and fake_identity.validations == 0


def test_the_callback_needs_no_csrf_token_but_logout_does(fake_identity):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert sso_post(client, {"token": fake_identity.issue()}).status_code == 302
    assert client.post("/lms/logout/").status_code == 403
    assert SESSION_KEY in client.session


def test_the_callback_goes_on_to_an_lms_page_only(client, fake_identity):
    good = sso_post(client, {"token": fake_identity.issue(), "next": "/lms/courses/7/"})
    assert good["Location"] == "/lms/courses/7/"
    for target in ["https://evil.example/lms/", "//evil.example/lms/", "/orders/", "/lms/../admin/"]:
        response = sso_post(client, {"token": fake_identity.issue(), "next": target})
        assert response["Location"] == "/lms/"


def test_an_inactive_lms_user_is_refused(client, fake_identity):
    LmsUserFactory(commerce_user_id="c-off", is_active=False)
    response = sso_post(client, {"token": fake_identity.issue(user_id="c-off")})
    assert response.status_code == 403
    assert SESSION_KEY not in client.session


def test_identity_down_is_a_try_again_page(client, fake_identity):
    fake_identity.down = True
    response = sso_post(client, {"token": "whatever"})
    assert response.status_code == 503
    assert b"try again" in response.content.lower()


def test_the_phase_is_cached_for_a_few_seconds(client, fake_identity, settings):
    settings.CACHES = LOCAL_CACHE  # expiry follows the frozen clock (Redis keeps its own)
    fake_identity.set(1)
    assert sso_post(client, {"token": fake_identity.issue()}).status_code == 403
    fake_identity.phase_number = 2  # changed at identity, not yet seen here
    assert sso_post(client, {"token": fake_identity.issue()}).status_code == 403
    with freeze_time(timezone.now() + timedelta(seconds=11)):
        assert sso_post(client, {"token": fake_identity.issue()}).status_code == 302


def test_a_revoked_token_stops_working_after_the_cache_time(client, fake_identity, settings):
    settings.CACHES = LOCAL_CACHE  # expiry follows the frozen clock (Redis keeps its own)
    settings.TOKEN_VALIDATION_CACHE_SECONDS = 60
    token = fake_identity.issue(user_id="c-rev")
    start = timezone.now()
    with freeze_time(start) as clock:
        assert sso_post(client, {"token": token}).status_code == 302
        fake_identity.revoke(token)
        clock.tick(timedelta(seconds=30))
        assert sso_post(client, {"token": token}).status_code == 302  # still cached
        clock.tick(timedelta(seconds=31))
        refused = sso_post(client, {"token": token})
        assert refused.status_code == 401
    assert fake_identity.validations == 2


def test_my_courses_sends_a_stranger_to_the_sso_landing(client, fake_identity):
    response = client.get("/lms/")
    assert response.status_code == 302 and response["Location"] == "/lms/sso/"
    landing = client.get("/lms/sso/")
    assert landing.status_code == 200
    assert b'href="/lms/sso/begin"' in landing.content


def test_the_landing_keeps_the_page_asked_for_through_the_handoff(client, fake_identity):
    deep = client.get("/lms/certificates/")
    assert deep["Location"] == "/lms/sso/?next=%2Flms%2Fcertificates%2F"
    landing = client.get(deep["Location"]).content.decode()
    # Its button carried no ``next``: after logging in the visitor landed on My courses, not the page they asked.
    assert 'href="/lms/sso/begin?next=%2Flms%2Fcertificates%2F"' in landing
    begin = client.get("/lms/sso/begin?next=%2Flms%2Fcertificates%2F")
    assert parse_qs(urlsplit(begin["Location"]).query)["next"] == ["/lms/certificates/"]
    assert 'href="/lms/sso/begin?next=http' not in client.get("/lms/sso/?next=https://evil.example/").content.decode()
    sso_post(client, {"token": fake_identity.issue()})
    assert client.get("/lms/sso/?next=%2Flms%2Fcertificates%2F")["Location"] == "/lms/certificates/"


def test_the_landing_sends_a_logged_in_user_to_my_courses(client, fake_identity):
    sso_post(client, {"token": fake_identity.issue()})
    response = client.get("/lms/sso/")
    assert response.status_code == 302 and response["Location"] == "/lms/"


def test_my_courses_has_an_honest_empty_state(client, fake_identity):
    sso_post(client, {"token": fake_identity.issue()})
    html = client.get("/lms/").content.decode()
    assert "not enrolled in any course yet" in html and "Browse the catalog" in html


def test_logout_ends_the_lms_session_only(client, fake_identity):
    sso_post(client, {"token": fake_identity.issue()})
    session = client.session
    session["unrelated"] = "kept"
    session.save()
    assert client.get("/lms/logout/").status_code == 405
    response = client.post("/lms/logout/")
    assert response.status_code == 302 and response["Location"] == "/lms/sso/"
    assert SESSION_KEY not in client.session and client.session["unrelated"] == "kept"
    assert client.get("/lms/")["Location"] == "/lms/sso/"


def test_an_erased_user_session_stops_working(client, fake_identity):
    sso_post(client, {"token": fake_identity.issue(user_id="c-gone")})
    LmsUser.objects.filter(commerce_user_id="c-gone").update(is_active=False)
    assert client.get("/lms/")["Location"] == "/lms/sso/"


def test_pages_that_do_not_ask_do_not_read_the_lms_user(client, fake_identity):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sso_post(client, {"token": fake_identity.issue()})
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/healthz").status_code == 200
    assert not [q for q in queries.captured_queries if "learning_lmsuser" in q["sql"]]


def test_fake_identity_is_isolated_per_test():
    assert FakeIdentity().phase_number == 2


def test_begin_sends_the_browser_to_the_store_with_a_one_time_state(client, fake_identity):
    response = client.get("/lms/sso/begin?next=/lms/courses/7/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/account/sso/lms/"
    query = parse_qs(location.query)
    assert len(query["state"][0]) >= 40 and query["next"] == ["/lms/courses/7/"]


def test_a_token_posted_without_this_browsers_state_signs_nobody_in(client, fake_identity):
    """Login CSRF: another site posting its own valid token must not sign the visitor in."""
    token = fake_identity.issue(user_id="c-attacker")
    assert client.post("/lms/sso/callback", {"token": token}).status_code == 400
    other_browser = Client()
    stolen_state = sso_begin(other_browser)
    assert client.post("/lms/sso/callback", {"token": token, "state": stolen_state}).status_code == 400
    assert not LmsUser.objects.filter(commerce_user_id="c-attacker").exists()
    assert SESSION_KEY not in client.session
    assert fake_identity.validations == 0  # refused before the token is even looked at


def test_a_state_works_once_and_not_after_ten_minutes(client, fake_identity):
    state = sso_begin(client)
    assert client.post("/lms/sso/callback", {"token": fake_identity.issue(), "state": state}).status_code == 302
    client.post("/lms/logout/")
    assert client.post("/lms/sso/callback", {"token": fake_identity.issue(), "state": state}).status_code == 400
    with freeze_time(timezone.now()) as clock:
        late = sso_begin(client)
        clock.tick(timedelta(seconds=601))
        assert client.post("/lms/sso/callback", {"token": fake_identity.issue(), "state": late}).status_code == 400


def test_the_sso_user_sync_costs_a_bounded_number_of_queries(fake_identity, django_assert_max_num_queries):
    """Creating the LMS user on a first SSO, and finding it on the next, stay a few queries each."""
    from learning.services.sso import sso_authenticate

    token = fake_identity.issue(email="sync@example.com")
    with django_assert_max_num_queries(6):
        created, _ = sso_authenticate(token=token)
    with django_assert_max_num_queries(2):
        found, _ = sso_authenticate(token=token)
    assert found.pk == created.pk and found.email == "sync@example.com"
