"""Legacy LMS login (identity phases 1 and 2) on the page and the API."""

import json
from unittest import mock

import bcrypt
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from learning.models import LmsUser
from learning.services import legacy
from learning.sessions import SESSION_KEY
from tests.learning.factories import LEGACY_PASSWORD, LegacyHashBackupFactory, LegacyUserFactory, raw_bcrypt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fake_identity")]

API = "/api/v2/auth/legacy-login"


def _api_login(client, email, password, **extra):
    return client.post(API, data=json.dumps({"email": email, "password": password}),
                       content_type="application/json", **extra)


def test_an_imported_bcrypt_account_logs_in_in_phase_one(client, fake_identity, tmp_path):
    fake_identity.set(1)
    accounts = tmp_path / "legacy.jsonl"
    accounts.write_text(json.dumps({"email": "grace@example.com", "passwordHash": raw_bcrypt("hopper-1906"),
                                    "userTypes": ["learner"], "createdAt": "2019-03-01T10:00:00Z"}) + "\n")
    call_command("import_legacy_lms_users", str(accounts))

    page = client.get("/lms/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post("/lms/login/", {"email": "Grace@Example.com", "password": "hopper-1906"})

    assert response.status_code == 302 and response["Location"] == "/lms/"
    user = LmsUser.objects.get(email="grace@example.com")
    assert client.session[SESSION_KEY] == str(user.pk)
    assert b"grace@example.com" in client.get("/lms/").content


def test_the_api_login_answers_the_lms_user_and_opens_a_session(client):
    user = LegacyUserFactory(email="alan@example.com")
    response = _api_login(client, "alan@example.com", LEGACY_PASSWORD)
    assert response.status_code == 200
    assert response.json() == {"lmsUserId": str(user.id), "email": "alan@example.com"}
    assert client.get("/api/v2/me/").json()["lmsUserId"] == str(user.id)


def test_y_prefixed_bcrypt_from_php_verifies():
    encoded = legacy.legacy_hash_normalize(raw_bcrypt("php-pass-1", prefix="2y"))
    assert encoded.startswith("bcrypt$$2b$")
    user = LegacyUserFactory(credential__password_hash=encoded)
    assert legacy.legacy_login(email=user.email, password="php-pass-1", ip="10.0.0.1") == user


def test_unknown_email_and_wrong_password_get_the_same_answer_and_the_same_work(client):
    user = LegacyUserFactory()
    with mock.patch.object(legacy, "check_password", wraps=legacy.check_password) as checked:
        unknown = _api_login(client, "nobody@example.com", "whatever-123")
        wrong = _api_login(client, user.email, "whatever-123")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()
    assert unknown.json()["error"]["code"] == "invalid_credentials"
    assert checked.call_count == 2  # one hash verification each, the unknown one against a dummy

    page_unknown = client.post("/lms/login/", {"email": "nobody@example.com", "password": "whatever-123"})
    page_wrong = client.post("/lms/login/", {"email": user.email, "password": "whatever-123"})
    assert page_unknown.status_code == page_wrong.status_code == 400
    assert b"email address or password is incorrect" in page_unknown.content
    assert b"email address or password is incorrect" in page_wrong.content


def test_five_failures_for_an_email_block_it_even_with_the_right_password(client):
    user = LegacyUserFactory()
    for _ in range(5):
        assert _api_login(client, user.email, "wrong-password").status_code in {400, 429}
    blocked = _api_login(client, user.email, LEGACY_PASSWORD)
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_login_attempts"
    assert int(blocked["Retry-After"]) == blocked.json()["error"]["details"]["retryAfterSeconds"] > 0
    page = client.post("/lms/login/", {"email": user.email.upper(), "password": LEGACY_PASSWORD})
    assert page.status_code == 429 and b"Too many failed sign-in attempts" in page.content
    assert int(page["Retry-After"]) > 0
    assert SESSION_KEY not in client.session


def test_an_address_over_its_limit_slows_guesses_but_never_locks_out_the_right_password(client):
    user = LegacyUserFactory()
    for n in range(5):
        _api_login(client, f"guess{n}@example.com", "wrong-password", REMOTE_ADDR="203.0.113.9")
    slowed = _api_login(client, "guess9@example.com", "wrong-password", REMOTE_ADDR="203.0.113.9")
    assert slowed.status_code == 429 and int(slowed["Retry-After"]) > 0
    # Another account's right password from the same (shared) address still gets in.
    assert _api_login(client, user.email, LEGACY_PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_behind_a_proxy_guesses_through_it_lock_nobody_else_out(client, settings):
    """Issue 8 item 8: the per-address count keys on the client, not on the proxy's address."""
    settings.TRUSTED_PROXY_COUNT = 1
    user = LegacyUserFactory()
    for n in range(20):
        _api_login(client, f"guess{n}@example.com", "wrong-password", REMOTE_ADDR="10.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.66")
    honest = _api_login(client, user.email, LEGACY_PASSWORD, REMOTE_ADDR="10.0.0.1",
                        HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert honest.status_code == 200
    # The guesser cannot escape its own count by writing another X-Forwarded-For: the proxy appends.
    spoofed = _api_login(client, "guess99@example.com", "wrong-password", REMOTE_ADDR="10.0.0.1",
                         HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.66")
    assert spoofed.status_code == 429


@pytest.mark.parametrize("stored", [
    lambda: "bcrypt$" + bcrypt.hashpw(b"someone-elses", bcrypt.gensalt(6)).decode(),
    lambda: "pbkdf2_sha256$4321$saltsalt$" + "A" * 43 + "=",
])
def test_an_unknown_email_costs_what_the_stored_hashes_cost(client, stored):
    """Issue 8 item 10: the dummy hash follows the stored hashes' algorithm and cost (not bcrypt cost 10)."""
    from django.contrib.auth.hashers import identify_hasher

    encoded = stored()
    LegacyUserFactory(credential__password_hash=encoded)
    with mock.patch.object(legacy, "check_password", wraps=legacy.check_password) as checked:
        assert _api_login(client, "nobody@example.com", "whatever-123").status_code == 400
    (_, dummy), _ = checked.call_args
    hasher = identify_hasher(encoded)
    assert identify_hasher(dummy).algorithm == hasher.algorithm
    cost = {key: value for key, value in hasher.decode(encoded).items() if key in {"work_factor", "iterations"}}
    assert {key: value for key, value in identify_hasher(dummy).decode(dummy).items() if key in cost} == cost


def test_a_success_clears_the_email_count(client):
    user = LegacyUserFactory()
    for _ in range(4):
        _api_login(client, user.email, "wrong-password")
    assert _api_login(client, user.email, LEGACY_PASSWORD).status_code == 200
    for _ in range(4):
        _api_login(client, user.email, "wrong-password", REMOTE_ADDR="198.51.100.1")
    assert _api_login(client, user.email, LEGACY_PASSWORD, REMOTE_ADDR="198.51.100.2").status_code == 200


def test_a_password_longer_than_bcrypt_reads_is_a_wrong_password_not_a_crash(client):
    user = LegacyUserFactory()
    assert _api_login(client, user.email, "x" * 100).status_code == 400


def test_malformed_bodies_are_json_errors(client):
    assert client.post(API, data="{", content_type="application/json").json()["error"]["code"] == \
        "malformed_request"
    assert client.post(API, data=json.dumps({"email": "a@example.com"}),
                       content_type="application/json").json()["error"]["code"] == "validation_error"
    # A cross-site form cannot log a browser in: the API takes JSON only.
    assert client.post(API, {"email": "a@example.com", "password": "p"}).status_code == 415


def test_the_page_form_needs_its_csrf_token():
    user = LegacyUserFactory()
    client = Client(enforce_csrf_checks=True)
    assert client.post("/lms/login/", {"email": user.email, "password": LEGACY_PASSWORD}).status_code == 403


def test_a_migrated_account_is_told_it_has_moved_only_with_its_password(client, fake_identity):
    fake_identity.set(3)
    user = LegacyUserFactory()
    user.legacy_credential.delete()
    LegacyHashBackupFactory(lms_user=user, password_hash="bcrypt$" + raw_bcrypt(LEGACY_PASSWORD))
    user.commerce_user_id = "c-moved"
    user.save()

    moved = _api_login(client, user.email, LEGACY_PASSWORD)
    assert moved.status_code == 409
    assert moved.json()["error"] == {"code": "account_moved", "message": mock.ANY,
                                     "details": {"loginUrl": "/account/login/"}}
    assert _api_login(client, user.email, "wrong-password").json()["error"]["code"] == "invalid_credentials"

    page = client.post("/lms/login/", {"email": user.email, "password": LEGACY_PASSWORD})
    assert b"Your account has moved to the store" in page.content
    assert b'href="/account/login/"' in page.content
    assert SESSION_KEY not in client.session
    assert b"LMS accounts are moving to the store" in client.get("/lms/login/").content


def test_an_inactive_legacy_account_cannot_log_in(client):
    user = LegacyUserFactory(is_active=False)
    assert _api_login(client, user.email, LEGACY_PASSWORD).status_code == 400


def test_the_login_page_works_while_identity_is_down_and_does_not_ask_again_at_once(client, fake_identity,
                                                                                   monkeypatch):
    user = LegacyUserFactory()
    fake_identity.down = True
    calls = []
    real = fake_identity.phase

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(fake_identity, "phase", counting)
    assert client.get("/lms/login/").status_code == 200
    assert client.get("/lms/login/").status_code == 200
    assert len(calls) == 1
    response = client.post("/lms/login/", {"email": user.email, "password": LEGACY_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/lms/"


@pytest.mark.skipif(not django_settings.SERVES_COMMERCE, reason="needs the store login")
def test_the_store_login_and_the_legacy_login_answer_a_lockout_alike(client, settings):
    """Issue 7 item 3: one status and one code for a lockout, whichever login form."""
    from tests.identity.factories import UserFactory

    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_KIB, settings.ARGON2_PARALLELISM = 1, 1024, 1
    store_user, legacy_user = UserFactory(verified=True), LegacyUserFactory()
    answers = {}
    for name, path, email in (("store", "/api/v1/auth/login/", store_user.email),
                              ("legacy", API, legacy_user.email)):
        wrong = [client.post(path, data=json.dumps({"email": email, "password": "wrong-password"}),
                             content_type="application/json") for _ in range(6)]
        answers[name] = (wrong[0].status_code, wrong[0].json()["error"]["code"],
                         wrong[-1].status_code, wrong[-1].json()["error"]["code"], "Retry-After" in wrong[-1])
    assert answers["store"] == answers["legacy"] == (400, "invalid_credentials", 429, "too_many_login_attempts",
                                                     True)
