"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"): a browser that signed in to
an account before keeps signing in to it while its address (or the account) is locked by someone else's
guessing; without a valid cookie for that account nothing changes; a stolen cookie has its own limit."""

from datetime import timedelta

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from identity.models import AttemptCounter
from identity.services.login import DEVICE_COOKIE_NAME, device_cookie_issue, device_for
from tests.identity.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login/"


def api_login(client, email, password=PASSWORD):
    return client.post(LOGIN, {"email": email, "password": password}, format="json")


def page_login(client, email, password=PASSWORD):
    return client.post("/account/login/", {"login": email, "password": password})


def page_logout(client):
    """Signs the browser out and keeps its other cookies (the test client's logout() drops them all)."""
    cookie = client.cookies[DEVICE_COOKIE_NAME].value
    client.logout()
    client.cookies[DEVICE_COOKIE_NAME] = cookie


def with_cookie(value: str) -> APIClient:
    client = APIClient()
    client.cookies[DEVICE_COOKIE_NAME] = value
    return client


def spray(settings, attempts=3):
    """Another client behind the same address guesses passwords of other accounts until it is locked."""
    settings.IDENTITY_LOGIN_FAILURES_PER_ADDRESS = attempts
    sprayer = APIClient()
    for n in range(attempts):
        assert api_login(sprayer, f"sprayed{n}@example.com", "Summer2026!").status_code == 400
    assert api_login(sprayer, "sprayed-more@example.com", "Summer2026!").status_code == 429


def signed_in_cookie(user) -> str:
    """The cookie a completed API sign-in leaves (before any lock)."""
    response = api_login(APIClient(), user.email)
    assert response.status_code == 200, response.content
    return response.cookies[DEVICE_COOKIE_NAME].value


def test_a_locked_address_refuses_a_right_password_without_the_cookie_and_admits_it_with_one(user, settings):
    cookie = signed_in_cookie(user)
    spray(settings)

    without = api_login(APIClient(), user.email)
    assert without.status_code == 429 and without.json()["error"]["code"] == "too_many_login_attempts"

    known_device = with_cookie(cookie)
    admitted = api_login(known_device, user.email.upper())  # the email as typed, any case
    assert admitted.status_code == 200, admitted.content
    assert "access" in admitted.json()
    renewed = admitted.cookies[DEVICE_COOKIE_NAME].value
    assert renewed != cookie and device_for(cookie=renewed, email=user.email)
    # The address stays locked for everyone else: the owner's sign-in does not reset the spray.
    assert api_login(APIClient(), user.email).status_code == 429
    assert api_login(APIClient(), "sprayed-again@example.com", "Summer2026!").status_code == 429


def test_another_accounts_cookie_does_not_help(user, settings):
    other = UserFactory(verified=True)
    cookie = signed_in_cookie(other)
    spray(settings)
    assert api_login(with_cookie(cookie), user.email).status_code == 429
    assert api_login(with_cookie(cookie), other.email).status_code == 200


@pytest.mark.parametrize("spoil", [
    lambda value: value[:-1] + ("A" if value[-1] != "A" else "B"),  # signature changed
    lambda value: ("f" if value[0] != "f" else "g") + value[1:],  # payload changed
    lambda value: value.replace(":", "", 1),
    lambda value: "",
    lambda value: "garbage",
    lambda value: "x" * 4000,
    lambda value: signing.dumps({"a": "0" * 32, "d": "0" * 32}, salt="identity.login.mfa"),  # another salt
    lambda value: signing.dumps(["not", "a", "dict"], salt="identity.login.device"),
])
def test_a_tampered_cookie_does_not_help_and_is_no_error(user, settings, spoil):
    cookie = signed_in_cookie(user)
    spray(settings)
    response = api_login(with_cookie(spoil(cookie)), user.email)
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_login_attempts"


def test_an_expired_cookie_does_not_help(user, settings):
    settings.IDENTITY_DEVICE_COOKIE_SECONDS = 30 * 24 * 3600
    with freeze_time(timezone.now() - timedelta(days=31)):
        old = device_cookie_issue(user=user)
    with freeze_time(timezone.now() - timedelta(days=29)):
        recent = device_cookie_issue(user=user)
    spray(settings)
    assert device_for(cookie=old, email=user.email) is None
    assert api_login(with_cookie(old), user.email).status_code == 429
    assert api_login(with_cookie(recent), user.email).status_code == 200


def test_a_device_cookie_has_its_own_failure_limit(user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_DEVICE = 3
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 5
    stolen = with_cookie(signed_in_cookie(user))
    answers = [api_login(stolen, user.email, "guess-one-1").status_code for _ in range(5)]
    assert answers == [400, 400, 400, 429, 429]

    locked = api_login(stolen, user.email)  # the right password, on the locked device cookie
    assert locked.status_code == 429 and locked["Retry-After"]
    assert AttemptCounter.objects.get(key__startswith="idn:dev:").attempts == 6
    # Its guesses were counted on the device, not on the account or the address: the owner, in another
    # browser, still signs in.
    assert not AttemptCounter.objects.filter(key__startswith="idn:acct:", attempts__gt=0).exists()
    assert api_login(APIClient(), user.email).status_code == 200


def test_a_known_device_gets_past_an_account_locked_by_others_without_resetting_it(user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    cookie = signed_in_cookie(user)
    guesser = APIClient()
    for _ in range(3):
        assert api_login(guesser, user.email, "guess-one-1").status_code == 400
    assert api_login(guesser, user.email).status_code == 429

    assert api_login(with_cookie(cookie), user.email).status_code == 200
    assert api_login(guesser, user.email).status_code == 429  # the guesser gets no fresh start


def test_a_wrong_password_on_a_known_device_and_then_the_right_one_clears_the_device(user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_DEVICE = 3
    device = with_cookie(signed_in_cookie(user))
    for _ in range(2):
        assert api_login(device, user.email, "typo-one-1").status_code == 400
    response = api_login(device, user.email)
    assert response.status_code == 200
    device = with_cookie(response.cookies[DEVICE_COOKIE_NAME].value)
    for _ in range(2):
        assert api_login(device, user.email, "typo-one-1").status_code == 400
    assert api_login(device, user.email).status_code == 200


@pytest.mark.parametrize("secure", [False, True])
def test_the_cookie_flags(user, settings, secure):
    settings.IDENTITY_DEVICE_COOKIE_SECONDS = 365 * 24 * 3600
    response = APIClient().post(LOGIN, {"email": user.email, "password": PASSWORD}, format="json", secure=secure)
    assert response.status_code == 200
    morsel = response.cookies[DEVICE_COOKIE_NAME]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert bool(morsel["secure"]) is secure
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == 365 * 24 * 3600
    assert morsel.value not in response.content.decode()  # a cookie only, never the body
    assert device_for(cookie=morsel.value, email=user.email)
    assert device_for(cookie=morsel.value, email="someone-else@example.com") is None


def test_failed_and_locked_sign_ins_set_no_cookie(user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 1
    assert DEVICE_COOKIE_NAME not in api_login(APIClient(), user.email, "wrong-one-1").cookies
    locked = api_login(APIClient(), user.email)
    assert locked.status_code == 429 and DEVICE_COOKIE_NAME not in locked.cookies


def test_the_login_page_sets_the_cookie_and_a_locked_address_admits_that_browser(client, user, settings):
    response = page_login(client, user.email)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.id)
    morsel = response.cookies[DEVICE_COOKIE_NAME]
    assert morsel["httponly"] is True and morsel["samesite"] == "Lax"
    assert device_for(cookie=morsel.value, email=user.email)
    page_logout(client)
    assert "_auth_user_id" not in client.session
    spray(settings)

    stranger = client.__class__()
    refused = page_login(stranger, user.email)
    assert refused.status_code == 200 and "_auth_user_id" not in stranger.session
    assert "Too many failed sign-in attempts" in refused.content.decode()

    admitted = page_login(client, user.email)  # the browser still holds its device cookie
    assert admitted.status_code == 302 and client.session["_auth_user_id"] == str(user.id)
    assert admitted.cookies[DEVICE_COOKIE_NAME].value != morsel.value


def test_the_login_page_device_limit(client, user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_DEVICE = 2
    assert page_login(client, user.email).status_code == 302
    page_logout(client)
    for _ in range(2):
        assert page_login(client, user.email, "wrong-one-1").status_code == 200
    locked = page_login(client, user.email)
    assert "_auth_user_id" not in client.session
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert page_login(client.__class__(), user.email).status_code == 302  # another browser: not locked


def test_page_and_api_share_the_cookie(client, user, settings):
    page_login(client, user.email)
    spray(settings)
    api = with_cookie(client.cookies[DEVICE_COOKIE_NAME].value)
    assert api_login(api, user.email).status_code == 200


def test_the_api_mfa_step_from_a_locked_address_with_the_cookie(user, settings):
    cookie = signed_in_cookie(user)
    TOTP.activate(user, generate_totp_secret())
    codes = RecoveryCodes.activate(user).get_unused_codes()
    spray(settings)
    device = with_cookie(cookie)
    step = api_login(device, user.email)
    assert step.status_code == 200 and step.json()["mfaRequired"] is True
    assert DEVICE_COOKIE_NAME not in step.cookies  # only a completed sign-in renews it

    stranger = APIClient()  # the same mfaToken without the cookie meets the address lock
    assert stranger.post(f"{LOGIN}mfa/", {"mfaToken": step.json()["mfaToken"], "code": codes[0]},
                         format="json").status_code == 429
    done = device.post(f"{LOGIN}mfa/", {"mfaToken": step.json()["mfaToken"], "code": codes[0]}, format="json")
    assert done.status_code == 200, done.content
    assert device_for(cookie=done.cookies[DEVICE_COOKIE_NAME].value, email=user.email)


def test_a_login_with_the_cookie_costs_no_more_queries_than_one_without(user, settings,
                                                                         django_assert_max_num_queries):
    cookie = signed_in_cookie(user)
    with CaptureQueriesContext(connection) as plain:
        assert api_login(APIClient(), user.email).status_code == 200
    without = len(plain.captured_queries)  # read now: the next request resets the query log
    assert without <= 22  # as before device cookies, savepoints included
    with django_assert_max_num_queries(without):
        assert api_login(with_cookie(cookie), user.email).status_code == 200
    spray(settings)
    with django_assert_max_num_queries(without):
        assert api_login(with_cookie(cookie), user.email).status_code == 200
