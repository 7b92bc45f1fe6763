"""Sign-in with MFA (allauth's TOTP and recovery codes), through the API's second step and the pages."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import signing

from identity.selectors import token_validate
from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.django_db


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def mfa_user(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    user.totp_secret, user.recovery_codes = secret, codes
    return user


def first_step(api_client, user):
    response = api_client.post("/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def second_step(api_client, mfa_token, code):
    return api_client.post("/api/v1/auth/login/mfa/", {"mfaToken": mfa_token, "code": code}, format="json")


def test_mfa_login_end_to_end_with_a_totp_code(api_client, mfa_user):
    step = first_step(api_client, mfa_user)
    assert step["mfaRequired"] is True and set(step["mfaTypes"]) == {"totp", "recovery_codes"}
    assert "access" not in step and "refresh" not in step

    response = second_step(api_client, step["mfaToken"], current_code(mfa_user.totp_secret))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["mfaEnabled"] is True
    assert token_validate(token=body["access"])["user"]["id"] == str(mfa_user.id)
    assert Authenticator.objects.get(user=mfa_user, type="totp").last_used_at is not None


def test_a_recovery_code_works_once(api_client, mfa_user):
    code = mfa_user.recovery_codes[0]
    assert second_step(api_client, first_step(api_client, mfa_user)["mfaToken"], code).status_code == 200
    reused = second_step(api_client, first_step(api_client, mfa_user)["mfaToken"], code)
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "invalid_mfa_code"


def test_a_wrong_code_is_refused_and_the_mfa_token_dies_after_five_tries(api_client, mfa_user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 100
    token = first_step(api_client, mfa_user)["mfaToken"]
    for _ in range(5):
        response = second_step(api_client, token, "000000")
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_mfa_code"
    exhausted = second_step(api_client, token, current_code(mfa_user.totp_secret))
    assert exhausted.status_code == 401 and exhausted.json()["error"]["code"] == "invalid_mfa_token"


def test_an_mfa_token_is_single_use(api_client, mfa_user, settings):
    token = first_step(api_client, mfa_user)["mfaToken"]
    assert second_step(api_client, token, mfa_user.recovery_codes[0]).status_code == 200
    again = second_step(api_client, token, mfa_user.recovery_codes[1])
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_mfa_token"


def test_a_forged_or_expired_mfa_token_is_refused(api_client, mfa_user, settings):
    forged = signing.dumps({"u": str(mfa_user.id), "n": "x"}, salt="something-else")
    assert second_step(api_client, forged, current_code(mfa_user.totp_secret)).status_code == 401
    settings.IDENTITY_MFA_TOKEN_SECONDS = -1
    token = first_step(api_client, mfa_user)["mfaToken"]
    assert second_step(api_client, token, current_code(mfa_user.totp_secret)).status_code == 401


def test_the_mfa_step_counts_towards_the_account_lockout(api_client, mfa_user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        second_step(api_client, first_step(api_client, mfa_user)["mfaToken"], "111111")
    locked = api_client.post("/api/v1/auth/login/", {"email": mfa_user.email, "password": PASSWORD}, format="json")
    assert locked.status_code == 429


def test_recovery_codes_alone_do_not_ask_for_a_second_step(api_client, user):
    RecoveryCodes.activate(user)
    assert "access" in first_step(api_client, user)


def test_the_login_page_asks_for_the_code_and_then_signs_in(client, mfa_user):
    response = client.post("/account/login/", {"login": mfa_user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/2fa/authenticate/"
    assert "_auth_user_id" not in client.session
    page = client.get("/account/2fa/authenticate/")
    assert page.status_code == 200 and b'class="site-header"' in page.content

    done = client.post("/account/2fa/authenticate/", {"code": current_code(mfa_user.totp_secret)})

    assert done.status_code == 302
    assert client.session["_auth_user_id"] == str(mfa_user.id)


def test_totp_can_be_turned_on_from_the_pages(client, user):
    client.force_login(user)
    assert client.get("/account/2fa/totp/activate/")["Location"].startswith("/account/reauthenticate/")
    assert client.post("/account/reauthenticate/", {"password": PASSWORD}).status_code == 302
    page = client.get("/account/2fa/totp/activate/")
    assert page.status_code == 200 and b'class="site-header"' in page.content
    secret = client.session["mfa.totp.secret"]
    response = client.post("/account/2fa/totp/activate/", {"code": current_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type="totp").exists()
