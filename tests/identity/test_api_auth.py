"""The accounts API under /api/v1/auth/: sign-up, sign-in, refresh, logout, the user, bad input."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import get_hasher
from django.core import mail

from identity.caching import family_is_revoked
from identity.models import TokenFamily, User
from identity.selectors import token_validate
from tests.identity.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(api_client, email, password=PASSWORD):
    return api_client.post("/api/v1/auth/login/", {"email": email, "password": password}, format="json")


def test_registration_creates_an_email_only_account_and_sign_in_gives_the_tokens(api_client):
    response = api_client.post("/api/v1/auth/registration/", {
        "email": "New.Person@Example.com", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
        format="json")

    assert response.status_code == 201, response.content
    assert set(response.json()) == {"detail"}
    user = User.objects.get()
    assert user.email == "new.person@example.com"
    assert user.password.startswith("argon2$argon2id$")
    assert EmailAddress.objects.get(user=user).verified is False
    assert len(mail.outbox) == 1 and "confirm" in mail.outbox[0].body.lower()
    assert "_auth_user_id" not in api_client.session
    signed_in = login(api_client, "new.person@example.com", "a-long-pass-phrase")
    assert signed_in.status_code == 200 and token_validate(token=signed_in.json()["access"])["valid"] is True


def test_registration_refuses_mismatched_or_weak_passwords(api_client):
    weak = api_client.post("/api/v1/auth/registration/", {"email": "a@example.com", "password1": "123",
                                                          "password2": "123"}, format="json")
    mismatch = api_client.post("/api/v1/auth/registration/", {
        "email": "b@example.com", "password1": "a-long-pass-phrase", "password2": "another-long-phrase"},
        format="json")
    for response in (weak, mismatch):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
    assert User.objects.count() == 0


@pytest.mark.parametrize("verified", [True, False])
def test_registering_a_taken_email_answers_exactly_as_a_new_one_and_tells_the_owner(api_client, verified):
    """Issue 8, item 9: an unverified account's email (any case) answered 500; a verified one said
    "already registered". Now both answer what a new address gets, and the owner gets an email."""
    from tests.identity.factories import UserFactory

    owner = UserFactory(email="owner@example.com", verified=verified)
    body = {"password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"}
    fresh = api_client.post("/api/v1/auth/registration/", {"email": "fresh@example.com", **body}, format="json")
    mail.outbox.clear()
    for spelling in ("owner@example.com", "OWNER@Example.COM"):
        taken = api_client.post("/api/v1/auth/registration/", {"email": spelling, **body}, format="json")
        assert (taken.status_code, taken.json()) == (fresh.status_code, fresh.json()) == (201, fresh.json())
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1
    assert not owner.__class__.objects.get(pk=owner.pk).check_password("a-long-pass-phrase")
    assert [message.to for message in mail.outbox] == [["owner@example.com"], ["owner@example.com"]]


def test_the_signup_page_answers_the_same_for_a_taken_email(client):
    from tests.identity.factories import UserFactory

    UserFactory(email="owner@example.com", verified=False)
    body = {"password1": "page-pass-phrase-1", "password2": "page-pass-phrase-1"}
    fresh = client.post("/account/signup/", {"email": "fresh@example.com", **body})
    taken = client.post("/account/signup/", {"email": "Owner@Example.com", **body})
    assert fresh.status_code == taken.status_code == 302
    assert fresh["Location"] == taken["Location"] == "/account/confirm-email/"
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1


def test_mandatory_verification_gives_no_tokens_until_the_address_is_confirmed(api_client, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    from allauth.account import app_settings

    assert app_settings.EMAIL_VERIFICATION == "mandatory"
    response = api_client.post("/api/v1/auth/registration/", {
        "email": "v@example.com", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
        format="json")
    assert response.status_code == 201
    assert "access" not in response.json()

    refused = login(api_client, "v@example.com", "a-long-pass-phrase")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "email_not_verified"

    EmailAddress.objects.filter(email="v@example.com").update(verified=True)
    assert login(api_client, "v@example.com", "a-long-pass-phrase").status_code == 200


def test_login_answers_access_refresh_and_the_user(api_client, user, django_assert_max_num_queries):
    response = login(api_client, user.email.upper())

    assert response.status_code == 200, response.content
    body = response.json()
    assert {"access", "refresh", "user", "accessExpiration", "refreshExpiration"} <= set(body)
    assert body["user"]["id"] == str(user.id) and body["user"]["emailVerified"] is True
    assert TokenFamily.objects.filter(user=user, kind="api").count() == 1
    user.refresh_from_db()
    assert user.last_login is not None


def test_unknown_email_and_wrong_password_get_the_same_answer_and_one_hasher_run(api_client, user, monkeypatch):
    hasher = get_hasher("argon2")
    runs = []
    real_encode, real_verify = type(hasher).encode, type(hasher).verify
    monkeypatch.setattr(type(hasher), "encode", lambda self, *a: runs.append("hash") or real_encode(self, *a))
    monkeypatch.setattr(type(hasher), "verify", lambda self, *a: runs.append("verify") or real_verify(self, *a))

    wrong = login(api_client, user.email, "not-the-password")
    wrong_runs, runs[:] = list(runs), []
    unknown = login(api_client, "nobody-here@example.com", "not-the-password")

    assert wrong.status_code == unknown.status_code == 400
    assert wrong.json() == unknown.json() == {"error": {
        "code": "invalid_credentials", "message": "The email address or password is incorrect.", "details": {}}}
    assert len(wrong_runs) == 1 and len(runs) == 1  # one Argon2 run each: no timing tell


def test_inactive_accounts_get_the_same_answer(api_client, password):
    inactive = UserFactory(verified=True, is_active=False)
    response = login(api_client, inactive.email, password)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_credentials"


def test_login_is_throttled_per_account_with_a_growing_lockout(api_client, user, settings, password):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 5
    for _ in range(4):
        assert login(api_client, user.email, "wrong-password").status_code == 400
    assert login(api_client, user.email, "wrong-password").status_code == 400  # the 5th failure locks

    locked = login(api_client, user.email, password)  # even the right password waits
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "too_many_login_attempts"
    assert "Try again in 30 seconds" in error["message"]
    assert error["details"]["retryAfterSeconds"] == 30


def test_the_lockout_doubles_with_each_further_failure(user, settings):
    from identity.errors import LoginLocked
    from identity.services.login import login_failure_record, login_throttle_check

    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 2
    waits = []
    for _ in range(4):
        login_failure_record(email=user.email, address=None)
        try:
            login_throttle_check(email=user.email, address=None)
        except LoginLocked as exc:
            waits.append(exc.details["retryAfterSeconds"])
    assert waits == [30, 60, 120]


def test_an_unknown_email_locks_the_same_way(api_client, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        login(api_client, "ghost@example.com", "x")
    assert login(api_client, "ghost@example.com", "x").status_code == 429


def test_login_is_throttled_per_address_across_accounts(api_client, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ADDRESS = 4
    for n in range(4):
        login(api_client, f"spray{n}@example.com", "Password1!")
    response = login(api_client, "someone-else@example.com", "Password1!")
    assert response.status_code == 429


def test_a_successful_login_clears_the_account_failures(api_client, user, settings, password):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    login(api_client, user.email, "wrong")
    login(api_client, user.email, "wrong")
    assert login(api_client, user.email, password).status_code == 200
    login(api_client, user.email, "wrong")
    login(api_client, user.email, "wrong")
    assert login(api_client, user.email, password).status_code == 200


@pytest.mark.parametrize("body", [
    "{not json",
    '{"email": "x@example.com"}',
    '{"email": "not-an-email", "password": "p"}',
    "[]",
])
def test_malformed_login_bodies_get_a_4xx_in_the_error_shape(api_client, body):
    response = api_client.post("/api/v1/auth/login/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_refresh_rotates_and_the_old_refresh_token_is_used_up(api_client, user, tokens):
    pair = tokens(user)
    first = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair.refresh}, format="json")
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh"] != pair.refresh
    assert token_validate(token=rotated["access"])["valid"] is True

    second = api_client.post("/api/v1/auth/token/refresh/", {"refresh": rotated["refresh"]}, format="json")
    assert second.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(api_client, user, tokens):
    pair = tokens(user)
    rotated = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair.refresh}, format="json").json()

    reuse = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair.refresh}, format="json")

    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "token_reused"
    for access in (pair.access, rotated["access"]):  # the sibling access tokens die too
        assert token_validate(token=access) == {"valid": False, "error": {
            "code": "REVOKED_TOKEN", "message": "The token has been revoked."}}
    after = api_client.post("/api/v1/auth/token/refresh/", {"refresh": rotated["refresh"]}, format="json")
    assert after.status_code == 401 and after.json()["error"]["code"] == "token_revoked"
    family = TokenFamily.objects.get(user=user)
    assert family.revoke_reason == "refresh_reuse"


def test_refresh_refuses_access_tokens_and_garbage(api_client, user, tokens):
    pair = tokens(user)
    for value in (pair.access, "garbage", pair.refresh + "x"):
        response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": value}, format="json")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"


def test_logout_revokes_the_refresh_token_and_the_access_tokens_of_the_sign_in(api_client, user, tokens, bearer):
    pair, other = tokens(user), tokens(user)

    response = api_client.post("/api/v1/auth/logout/", {"refresh": pair.refresh}, format="json", **bearer(pair.access))

    assert response.status_code == 200 and response.json() == {"success": True}
    assert token_validate(token=pair.access)["error"]["code"] == "REVOKED_TOKEN"
    refresh = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair.refresh}, format="json")
    assert refresh.status_code == 401
    again = api_client.get("/api/v1/auth/user/", **bearer(pair.access))
    assert again.status_code == 401
    assert again.json()["error"] == {"code": "token_revoked", "message": "The access token has been revoked.",
                                     "details": {}}
    assert token_validate(token=other.access)["valid"] is True  # another device stays signed in


def test_logout_needs_a_bearer_token_and_refuses_someone_elses_refresh(api_client, user, tokens, bearer):
    pair = tokens(user)
    assert api_client.post("/api/v1/auth/logout/", {"refresh": pair.refresh}, format="json").status_code == 401

    stranger = tokens(UserFactory())
    response = api_client.post("/api/v1/auth/logout/", {"refresh": pair.refresh}, format="json",
                               **bearer(stranger.access))
    assert response.status_code == 401
    assert token_validate(token=pair.access)["valid"] is True


def test_the_user_endpoint_is_camel_case_and_bounded_in_queries(api_client, user, tokens, bearer,
                                                                  django_assert_max_num_queries):
    pair = tokens(user)
    family_is_revoked(family_id=pair.family_id)  # the family's state is cached (a miss costs one read)
    with django_assert_max_num_queries(4):
        response = api_client.get("/api/v1/auth/user/", **bearer(pair.access))
    assert response.status_code == 200
    assert response.json() == {"id": str(user.id), "email": user.email, "commerceRoles": ["purchaser"],
                               "emailVerified": True, "mfaEnabled": False,
                               "dateJoined": response.json()["dateJoined"]}


def test_the_user_endpoint_without_a_token_is_401(api_client):
    response = api_client.get("/api/v1/auth/user/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_password_change_needs_the_old_password(api_client, user, tokens, bearer, password):
    pair = tokens(user)
    refused = api_client.post("/api/v1/auth/password/change/", {
        "old_password": "wrong", "new_password1": "a-new-long-phrase", "new_password2": "a-new-long-phrase"},
        format="json", **bearer(pair.access))
    assert refused.status_code == 400
    changed = api_client.post("/api/v1/auth/password/change/", {
        "old_password": password, "new_password1": "a-new-long-phrase", "new_password2": "a-new-long-phrase"},
        format="json", **bearer(pair.access))
    assert changed.status_code == 200
    assert login(api_client, user.email, "a-new-long-phrase").status_code == 200


def test_password_reset_by_api_mails_a_link_and_the_reset_revokes_old_sessions(api_client, user, tokens):
    pair = tokens(user)
    unknown = api_client.post("/api/v1/auth/password/reset/", {"email": "nobody@example.com"}, format="json")
    response = api_client.post("/api/v1/auth/password/reset/", {"email": user.email}, format="json")
    assert unknown.status_code == response.status_code == 200  # no enumeration
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = next(word for word in body.split() if "/account/password/reset/key/" in word)
    uid, _, key = link.rstrip("/").rsplit("/", 1)[1].partition("-")

    confirm = api_client.post("/api/v1/auth/password/reset/confirm/", {
        "uid": uid, "token": key, "new_password1": "brand-new-phrase-1", "new_password2": "brand-new-phrase-1"},
        format="json")

    assert confirm.status_code == 200, confirm.content
    assert token_validate(token=pair.access)["error"]["code"] == "REVOKED_TOKEN"
    assert login(api_client, user.email, "brand-new-phrase-1").status_code == 200
