"""An LMS session opened by the SSO handoff lasts only as long as the store sign-in it came from.

Split mode has no shared Django session, so the LMS re-asks the identity port about the handoff token
(at most once per TOKEN_VALIDATION_CACHE_SECONDS) and, once that token has expired, about its family.
The first tests run the real identity app over HTTP (INTEGRATION_FORCE_HTTP, a live server), with the
store and the LMS in two browsers that share nothing, as on two origins.
"""

import re
from datetime import timedelta

import pytest
import rest_framework.throttling  # noqa: F401  imported before any freeze_time (its timer = time.time)
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from integration import transport
from learning.models import LmsUser
from learning.sessions import SESSION_KEY, SSO_SESSION_KEY
from tests.learning.conftest import identity_is_real, sso_post

LOCAL_CACHE = {alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"sso-sess-{alias}"}
               for alias in ("default", "security")}
PASSWORD = "correct-horse-42"
NEW_PASSWORD = "a-brand-new-passphrase-7"
needs_identity = pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's providers")


@pytest.fixture
def over_http(live_server, settings, monkeypatch):
    """The identity port answered over real HTTP; answers the list of identity calls made."""
    from identity.models import SERVICE_SCOPES
    from identity.services.phases import identity_phase_set
    from identity.services.roles import actor_for_system
    from learning.selectors import identity_phase_forget
    from tests.identity.factories import ServiceClientFactory

    settings.CACHES = LOCAL_CACHE
    settings.TOKEN_VALIDATION_CACHE_SECONDS = 60
    for phase in (1, 2):
        identity_phase_set(phase=phase, reason="sso session tests", actor=actor_for_system("tests"))
    identity_phase_forget()
    ServiceClientFactory(client_id="sso-sessions", scopes=list(SERVICE_SCOPES))
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "sso-sessions", "s3cret-s3cret-s3cret"
    settings.INTEGRATION_FORCE_HTTP = True
    settings.COMMERCE_BASE_URL = settings.LMS_BASE_URL = live_server.url
    calls: list[str] = []
    real = transport.http_call

    def counted(route, **kwargs):
        calls.append(route.name)
        return real(route, **kwargs)

    monkeypatch.setattr(transport, "http_call", counted)
    yield calls
    for alias in LOCAL_CACHE:
        caches[alias].clear()


def _window_passes() -> None:
    """TOKEN_VALIDATION_CACHE_SECONDS go by on the LMS side (its cached answers expire)."""
    caches["default"].clear()


def _handoff(email: str) -> tuple[Client, Client, str]:
    """Store browser signs in; the LMS browser (nothing shared) is handed a token through it."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(email=email, password=PASSWORD)
    store, lms = Client(), Client()
    assert store.post("/account/login/", {"login": email, "password": PASSWORD}).status_code == 302
    begin = lms.get("/lms/sso/begin")["Location"]
    page = store.get(begin)
    form = dict(re.findall(r'name="(token|state)" value="([^"]+)"', page.content.decode()))
    assert lms.post("/lms/sso/callback", form)["Location"] == "/lms/"
    return store, lms, form["token"]


def _identity_calls(calls: list[str]) -> list[str]:
    return [name for name in calls if name.startswith("identity.validate_token")]


@needs_identity
@pytest.mark.django_db(transaction=True)
def test_a_store_password_change_ends_the_lms_session_and_one_window_costs_one_call(over_http):
    store, lms, _ = _handoff("pat@example.com")
    over_http.clear()
    assert lms.get("/lms/").status_code == 200
    assert lms.get("/lms/").status_code == 200
    assert _identity_calls(over_http) == []  # the callback's answer is still cached: no call at all
    _window_passes()
    assert lms.get("/lms/").status_code == 200
    assert lms.get("/lms/").status_code == 200
    assert _identity_calls(over_http) == ["identity.validate_token"]  # once per window, not per request

    changed = store.post("/account/password/change/", {
        "oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert changed.status_code == 302
    _window_passes()
    response = lms.get("/lms/")
    assert response.status_code == 302 and response["Location"] == "/lms/sso/"
    assert SESSION_KEY not in lms.session and SSO_SESSION_KEY not in lms.session


@needs_identity
@pytest.mark.django_db(transaction=True)
def test_the_session_outlives_its_expired_token_while_the_family_lives_and_ends_at_store_logout(over_http):
    from identity.models import TokenFamily
    from identity.services.tokens import sso_access_token_issue

    store, lms, _ = _handoff("lou@example.com")
    family = TokenFamily.objects.get(user__email="lou@example.com", kind=TokenFamily.Kind.SSO)
    # The hour has passed: the session holds a token of the same family that has expired.
    expired = sso_access_token_issue(user=family.user, session_binding=store.session["_identity_sso_binding"],
                                     now=timezone.now() - timedelta(hours=2))
    session = lms.session
    session[SSO_SESSION_KEY] = session[SSO_SESSION_KEY] | {"token": expired}
    session.save()
    assert TokenFamily.objects.filter(user=family.user, kind=TokenFamily.Kind.SSO).count() == 1
    over_http.clear()
    assert lms.get("/lms/").status_code == 200
    assert lms.get("/lms/").status_code == 200
    assert _identity_calls(over_http) == ["identity.validate_token", "identity.validate_token_family"]

    store.post("/account/logout/")
    _window_passes()
    response = lms.get("/lms/")
    assert response.status_code == 302 and response["Location"] == "/lms/sso/"
    assert SESSION_KEY not in lms.session


@needs_identity
@pytest.mark.django_db(transaction=True)
def test_an_erasure_at_the_store_ends_the_lms_session(over_http):
    from django.contrib.auth import get_user_model

    from identity.services.tokens import user_tokens_revoke_all

    _, lms, _ = _handoff("era@example.com")
    user_tokens_revoke_all(user_id=get_user_model().objects.get(email="era@example.com").pk, reason="erasure")
    _window_passes()
    assert lms.get("/lms/")["Location"] == "/lms/sso/"


# --- the LMS alone (a stand-in identity): outages, the split deployment's flush -----------------------

pytestmark_db = pytest.mark.django_db


def _open(client, fake, *, expires_in: int = 3600, user_id: str = "c-1") -> str:
    token = fake.issue(user_id=user_id)
    fake.tokens[token]["expiresAt"] = timezone.now() + timedelta(seconds=expires_in)
    assert sso_post(client, {"token": token})["Location"] == "/lms/"
    return token


@pytestmark_db
def test_while_the_store_is_unreachable_the_session_is_kept_for_a_bounded_grace(client, fake_identity, settings,
                                                                                 caplog):
    settings.CACHES = LOCAL_CACHE
    settings.TOKEN_VALIDATION_CACHE_SECONDS = 60
    settings.LMS_SSO_OUTAGE_GRACE_SECONDS = 900
    start = timezone.now()
    with freeze_time(start) as clock:
        _open(client, fake_identity, expires_in=600)
        fake_identity.down = True
        clock.tick(timedelta(seconds=61))
        assert client.get("/lms/").status_code == 200  # kept, and said so
        assert "could not confirm its SSO sign-in" in caplog.text
        asked = fake_identity.validations
        assert client.get("/lms/").status_code == 200
        assert fake_identity.validations == asked  # an outage costs one attempt per few seconds, not one per request
        clock.tick(timedelta(seconds=900 - 61 - 1))
        assert client.get("/lms/").status_code == 200  # 899 s after the last confirmation
        clock.tick(timedelta(seconds=2))
        assert client.get("/lms/")["Location"] == "/lms/sso/"  # past the grace (and the token's expiry)
    caches["default"].clear()


@pytestmark_db
def test_the_grace_reaches_at_least_to_the_tokens_own_expiry(client, fake_identity, settings):
    settings.CACHES = LOCAL_CACHE
    settings.LMS_SSO_OUTAGE_GRACE_SECONDS = 60
    with freeze_time(timezone.now()) as clock:
        _open(client, fake_identity, expires_in=3600)
        fake_identity.down = True
        clock.tick(timedelta(seconds=3000))
        assert client.get("/lms/").status_code == 200
        clock.tick(timedelta(seconds=601))
        assert client.get("/lms/")["Location"] == "/lms/sso/"
    caches["default"].clear()


@pytestmark_db
def test_a_revoked_token_ends_the_session_flushed_where_the_lms_stands_alone(client, fake_identity, settings,
                                                                              monkeypatch):
    from integration import routes

    settings.CACHES = LOCAL_CACHE
    token = _open(client, fake_identity)
    settings.SERVES_COMMERCE = False  # the lms deployment: the session is the LMS's alone
    monkeypatch.setattr(routes, "calls_in_process", lambda side: True)  # ...with the stand-in still answering
    session = client.session
    session["unrelated"] = "kept only in the monolith"
    session.save()
    fake_identity.revoke(token)
    caches["default"].clear()
    assert client.get("/lms/")["Location"] == "/lms/sso/"
    assert "unrelated" not in client.session and SESSION_KEY not in client.session
    assert fake_identity.family_checks == 0  # revoked is final: the family is not asked
    caches["default"].clear()


@pytestmark_db
def test_an_expired_token_of_a_revoked_family_ends_the_session(client, fake_identity, settings):
    settings.CACHES = LOCAL_CACHE
    token = _open(client, fake_identity)
    fake_identity.tokens[token] = {"valid": False, "error": {"code": "EXPIRED_TOKEN", "message": "Expired."}}
    fake_identity.families[token] = {"valid": False, "error": {"code": "REVOKED_TOKEN", "message": "Revoked."}}
    caches["default"].clear()
    assert client.get("/lms/")["Location"] == "/lms/sso/"
    assert fake_identity.family_checks == 1
    caches["default"].clear()


@pytestmark_db
def test_a_session_not_opened_by_sso_asks_nobody(client, fake_identity):
    from tests.learning.conftest import lms_login
    from tests.learning.factories import LmsUserFactory

    lms_login(client, LmsUserFactory())
    assert client.get("/lms/").status_code == 200
    assert (fake_identity.validations, fake_identity.family_checks) == (0, 0)
    assert LmsUser.objects.count() == 1
