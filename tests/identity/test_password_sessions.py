"""Issue 8, items 5 and 14: a new password ends the other sessions on every path, and an LMS session
never outlives (or belongs to someone other than) the store login it shares a browser with."""

import pytest
from django.test import Client

from identity.models import TokenFamily
from identity.selectors import token_validate
from identity.services.tokens import sso_access_token_issue, token_pair_issue
from learning.models import LmsUser
from learning.sessions import SESSION_KEY as LMS_SESSION_KEY
from tests.identity.factories import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-passphrase-7"


def _code(token: str) -> str:
    answer = token_validate(token=token)
    return "VALID" if answer["valid"] else answer["error"]["code"]


def _lms_session(client: Client, lms_user: LmsUser) -> None:
    session = client.session
    session[LMS_SESSION_KEY] = str(lms_user.pk)
    session.save()


def _lms_user_for(user) -> LmsUser:
    return LmsUser.objects.create(email=user.email, commerce_user_id=str(user.pk))


def test_an_api_password_change_ends_the_other_sessions_and_keeps_this_one(api_client, user, bearer):
    other, sso = token_pair_issue(user=user), sso_access_token_issue(user=user, session_binding="browser-1")
    current = token_pair_issue(user=user)
    response = api_client.post("/api/v1/auth/password/change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        format="json", **bearer(current.access))
    assert response.status_code == 200, response.content
    assert _code(other.access) == "REVOKED_TOKEN" and _code(sso) == "REVOKED_TOKEN"
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": other.refresh}, format="json")
    assert refreshed.status_code == 401 and refreshed.json()["error"]["code"] == "token_revoked"
    assert _code(current.access) == "VALID"
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": current.refresh},
                           format="json").status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_wrong_old_password_changes_nothing(api_client, user, bearer):
    other, current = token_pair_issue(user=user), token_pair_issue(user=user)
    response = api_client.post("/api/v1/auth/password/change/", {
        "old_password": "not-it-at-all", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        format="json", **bearer(current.access))
    assert response.status_code == 400
    assert _code(other.access) == "VALID"


def test_the_page_password_change_ends_every_token_and_the_other_browsers(client, user):
    pair = token_pair_issue(user=user)
    elsewhere = Client()
    elsewhere.force_login(user)
    _lms_session(elsewhere, _lms_user_for(user))
    assert elsewhere.get("/lms/").status_code == 200

    client.force_login(user)
    response = client.post("/account/password/change/", {
        "oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content[:2000]
    assert _code(pair.access) == "REVOKED_TOKEN"
    assert not TokenFamily.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert client.get("/account/").status_code == 200  # this browser stays signed in
    # The other browser: its store session is gone, and the LMS session that shared it too.
    assert elsewhere.get("/lms/").status_code == 302
    assert LMS_SESSION_KEY not in elsewhere.session


def test_a_reset_by_the_api_ends_every_token(api_client, user):
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    pair = token_pair_issue(user=user)
    response = api_client.post("/api/v1/auth/password/reset/confirm/", {
        "uid": user_pk_to_url_str(user), "token": default_token_generator.make_token(user),
        "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert _code(pair.access) == "REVOKED_TOKEN"


def test_a_store_login_as_someone_else_ends_the_lms_session_in_that_browser(client, user):
    from tests.identity.factories import UserFactory

    previous = UserFactory(verified=True)
    _lms_session(client, _lms_user_for(previous))
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/lms/").status_code == 302  # not the previous person's courses
    assert LMS_SESSION_KEY not in client.session


def test_the_same_persons_lms_session_survives_a_store_login(client, user):
    _lms_session(client, _lms_user_for(user))
    client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert client.get("/lms/").status_code == 200


def test_a_store_logout_ends_the_lms_session_and_the_sso_tokens(client, user):
    client.force_login(user)
    _lms_session(client, _lms_user_for(user))
    from identity.services.tokens import SSO_BINDING_SESSION_KEY

    session = client.session
    session[SSO_BINDING_SESSION_KEY] = "binding-1"
    session.save()
    sso = sso_access_token_issue(user=user, session_binding="binding-1")
    client.post("/account/logout/")
    assert _code(sso) == "REVOKED_TOKEN"
    assert client.get("/lms/").status_code == 302


def test_manage_py_changepassword_goes_through_the_password_service(user, monkeypatch):
    """Django's own ``changepassword`` would only save the hash; ours (identity precedes
    django.contrib.auth in INSTALLED_APPS) revokes the account's tokens like every other path."""
    import io

    from django.core.management import call_command, get_commands

    assert get_commands()["changepassword"] == "identity"
    pair, sso = token_pair_issue(user=user), sso_access_token_issue(user=user, session_binding="browser-1")
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    out = io.StringIO()
    call_command("changepassword", user.email.upper(), stdout=out)
    assert "2 sign-in(s) revoked" in out.getvalue()
    assert _code(pair.access) == "REVOKED_TOKEN" and _code(sso) == "REVOKED_TOKEN"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_manage_py_changepassword_refuses_a_weak_password_and_changes_nothing(user, monkeypatch):
    import io

    from django.core.management import CommandError, call_command

    pair = token_pair_issue(user=user)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "short")
    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", user.email, stdout=io.StringIO(), stderr=io.StringIO())
    assert _code(pair.access) == "VALID"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_family_check_outlives_the_sso_token_and_not_a_password_change(client, user):
    """What the LMS asks once its SSO token has expired: is the family (the store sign-in) still live."""
    from datetime import timedelta

    from django.utils import timezone

    from identity.selectors import token_family_validate

    expired = sso_access_token_issue(user=user, session_binding="browser-9", now=timezone.now() - timedelta(hours=2))
    assert _code(expired) == "EXPIRED_TOKEN"
    live = token_family_validate(token=expired)
    family = TokenFamily.objects.get(user=user, kind=TokenFamily.Kind.SSO)
    assert live["valid"] and live["user"]["id"] == str(user.pk)
    assert live["expiresAt"] == family.absolute_expires_at
    assert token_family_validate(token=expired[:-2] + "xx")["error"]["code"] == "INVALID_TOKEN"  # forged

    client.force_login(user)
    client.post("/account/password/change/", {
        "oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert token_family_validate(token=expired)["error"]["code"] == "REVOKED_TOKEN"
    TokenFamily.objects.filter(pk=family.pk).update(revoked_at=None, absolute_expires_at=timezone.now())
    from identity import caching

    caching.security_cache().delete(caching.family_key(str(family.pk)))
    assert token_family_validate(token=expired)["error"]["code"] == "EXPIRED_TOKEN"  # past its absolute expiry
