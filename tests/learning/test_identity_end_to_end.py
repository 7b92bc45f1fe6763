"""The LMS side with the real identity app: SSO with real tokens, phase 3 migration, rollback, erasure."""

import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from integration.errors import ApplicationError
from integration.ports.identity import identity_port
from learning.models import LegacyCredential, LmsUser
from learning.selectors import identity_phase_forget
from tests.learning.conftest import bearer, identity_is_real, sso_post
from tests.learning.factories import raw_bcrypt

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's providers"),
]

LOCAL_CACHE = {alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"e2e-tests-{alias}"}
               for alias in ("default", "security")}
PASSWORD = "correct-horse-42"


def advance_to(phase: int) -> None:
    current = identity_port().phase().phase
    for step in range(current + 1, phase + 1):
        identity_port().set_phase(phase=step, reason=f"end-to-end test: phase {step}")
    identity_phase_forget()


def commerce_login(api_client, email: str, password: str):
    return api_client.post("/api/v1/auth/login/", {"email": email, "password": password}, format="json")


def test_sso_with_a_real_token_and_its_revocation_after_the_cache_time(api_client, settings):
    settings.CACHES = LOCAL_CACHE  # expiry follows the frozen clock
    settings.TOKEN_VALIDATION_CACHE_SECONDS = 60
    advance_to(2)
    get_user_model().objects.create_user(email="rita@example.com", password=PASSWORD)
    with freeze_time(timezone.now()) as clock:
        tokens = commerce_login(api_client, "rita@example.com", PASSWORD).json()
        browser = Client()
        assert sso_post(browser, {"token": tokens["access"]})["Location"] == "/lms/"
        lms_user = LmsUser.objects.get(email="rita@example.com")
        assert browser.get("/api/v2/me/").json()["lmsUserId"] == str(lms_user.id)
        assert api_client.get("/api/v2/me/", **bearer(tokens["access"])).status_code == 200

        revoked = api_client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json",
                                  **bearer(tokens["access"]))
        assert revoked.status_code == 200

        clock.tick(timedelta(seconds=30))
        assert sso_post(Client(), {"token": tokens["access"]}).status_code == 302  # cached
        clock.tick(timedelta(seconds=31))
        refused = sso_post(Client(), {"token": tokens["access"]})
        assert refused.status_code == 401 and b"Please log in again" in refused.content
        me = api_client.get("/api/v2/me/", **bearer(tokens["access"]))
        assert me.status_code == 401 and me.json()["error"]["code"] == "REVOKED_TOKEN"
    assert LmsUser.objects.count() == 1


def test_the_whole_page_handoff_then_storefront_logout_ends_the_token_the_lms_got(settings):
    """One browser: store login, "My courses" (LMS state, store form, LMS callback), then store logout.

    The LMS login cycles the shared session's key; the SSO family must still be found at logout.
    """
    advance_to(2)
    get_user_model().objects.create_user(email="mo@example.com", password=PASSWORD)
    browser = Client()
    assert browser.post("/account/login/", {"login": "mo@example.com", "password": PASSWORD}).status_code == 302
    start = browser.get(browser.get("/lms/sso/begin")["Location"])
    form = dict(re.findall(r'name="(token|state)" value="([^"]+)"', start.content.decode()))
    assert browser.post("/lms/sso/callback", form)["Location"] == "/lms/"
    assert b"mo@example.com" in browser.get("/lms/").content

    browser.post("/account/logout/")

    assert identity_port().validate_token(token=form["token"]).error_code == "REVOKED_TOKEN"


def test_a_legacy_bcrypt_user_moves_to_commerce_keeps_the_password_and_can_be_rolled_back(tmp_path, api_client):
    accounts = tmp_path / "legacy.jsonl"
    accounts.write_text(json.dumps({"email": "linus@example.com", "passwordHash": raw_bcrypt(PASSWORD),
                                    "userTypes": ["learner"], "createdAt": "2017-01-02T03:04:05Z"}) + "\n")
    call_command("import_legacy_lms_users", str(accounts), stdout=io.StringIO())
    legacy_user = LmsUser.objects.get(email="linus@example.com")

    # Phase 1: the legacy login works.
    legacy = Client()
    assert legacy.post("/lms/login/", {"email": "linus@example.com", "password": PASSWORD})["Location"] == "/lms/"

    # Phase 3: migrate; the Commerce login takes the old password and upgrades its hash.
    advance_to(3)
    out = io.StringIO()
    call_command("migrate_lms_identities", stdout=out, stderr=io.StringIO())
    assert "1 migrated, 0 linked to an existing account, 0 skipped, 0 conflicts, 0 failed" in out.getvalue()
    legacy_user.refresh_from_db()
    commerce_user = get_user_model().objects.get(email="linus@example.com")
    assert legacy_user.commerce_user_id == str(commerce_user.pk)
    assert commerce_user.password.startswith("bcrypt$")

    login = commerce_login(api_client, "linus@example.com", PASSWORD)
    assert login.status_code == 200, login.content
    commerce_user.refresh_from_db()
    assert commerce_user.password.startswith("argon2$")

    # SSO lands on the same LMS user (same lmsUserId, so nothing the person had is lost).
    sso = Client()
    assert sso_post(sso, {"token": login.json()["access"]}).status_code == 302
    assert sso.get("/api/v2/me/").json()["lmsUserId"] == str(legacy_user.id)
    assert LmsUser.objects.count() == 1

    # The legacy login now says the account has moved.
    moved = Client().post("/lms/login/", {"email": "linus@example.com", "password": PASSWORD})
    assert moved.status_code == 409 and b"Your account has moved to the store" in moved.content

    # A second run changes nothing.
    out = io.StringIO()
    call_command("migrate_lms_identities", stdout=out, stderr=io.StringIO())
    assert "0 migrated, 0 linked to an existing account, 1 skipped" in out.getvalue()

    # Roll back to phase 2: the legacy login works again, the link stays.
    out = io.StringIO()
    call_command("rollback_identity_phase", stdout=out)
    assert "Identity phase 3 -> 2: 1 legacy credentials restored" in out.getvalue()
    assert identity_port().phase().phase == 2
    assert LegacyCredential.objects.filter(lms_user=legacy_user).exists()
    again = Client().post("/lms/login/", {"email": "linus@example.com", "password": PASSWORD})
    assert again.status_code == 302 and again["Location"] == "/lms/"
    legacy_user.refresh_from_db()
    assert legacy_user.commerce_user_id == str(commerce_user.pk)


def test_identity_refuses_phase_three_while_legacy_emails_are_duplicated(tmp_path):
    accounts = tmp_path / "dup.jsonl"
    accounts.write_text("\n".join(json.dumps({"email": e, "passwordHash": raw_bcrypt()})
                                  for e in ["Zoe@example.com", "zoe@example.com"]) + "\n")
    call_command("import_legacy_lms_users", str(accounts), stdout=io.StringIO())
    advance_to(2)
    with pytest.raises(ApplicationError) as refused:
        identity_port().set_phase(phase=3, reason="end-to-end test")
    assert refused.value.details["duplicateEmails"] == ["zoe@example.com"]
    assert identity_port().phase().phase == 2


def test_erasing_the_commerce_account_anonymises_the_lms_user(api_client, django_capture_on_commit_callbacks):
    from identity.services.accounts import user_erase

    advance_to(2)
    commerce_user = get_user_model().objects.create_user(email="eve@example.com", password=PASSWORD)
    token = commerce_login(api_client, "eve@example.com", PASSWORD).json()["access"]
    assert sso_post(Client(), {"token": token}).status_code == 302
    lms_user = LmsUser.objects.get(commerce_user_id=str(commerce_user.pk))

    with django_capture_on_commit_callbacks(execute=True):
        user_erase(user_id=commerce_user.pk, actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        user_erase(user_id=commerce_user.pk, actor="test")  # again: nothing changes

    lms_user.refresh_from_db()
    assert (lms_user.email, lms_user.is_active) == (f"erased-{lms_user.id}@invalid", False)
    assert LmsUser.objects.count() == 1
