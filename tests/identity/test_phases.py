"""Identity migration phases (000_... section 10), Commerce side: the phase, its history, importing users."""

import io

import bcrypt
import pytest
from django.core.management import CommandError, call_command

from identity.models import IdentityPhase, IdentityPhaseChange, LmsAccountLink, User
from identity.selectors import identity_phase_get
from integration.contracts.learning import LegacyReport
from integration.ports import PortUnavailable
from integration.ports.identity import identity_port
from learning.providers import LocalLearning
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy_report(monkeypatch):
    """What the LMS reports about its legacy accounts (the port, monkeypatched)."""
    report = {"duplicates": ()}
    monkeypatch.setattr(LocalLearning, "legacy_report", lambda self: LegacyReport(
        legacy_accounts=10, with_password=9, migrated=0, duplicate_emails=tuple(report["duplicates"])))
    return report


def phase(*args) -> str:
    out = io.StringIO()
    call_command("identity_phase", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def set_phase(n: int) -> None:
    IdentityPhase.objects.update_or_create(pk=1, defaults={"phase": n})


def test_the_phase_starts_at_one_and_the_command_shows_it():
    assert identity_phase_get() == 1
    assert "Identity migration phase: 1" in phase()


def test_the_command_advances_one_step_at_a_time_with_history(legacy_report):
    assert "Phase 1 → 2" in phase("2", "--reason", "SSO bridge live")
    assert "Phase 2 → 3" in phase("3")
    assert "Already in phase 3" in phase("3")
    history = list(IdentityPhaseChange.objects.order_by("changed_at").values_list("from_phase", "to_phase", "reason"))
    assert history == [(1, 2, "SSO bridge live"), (2, 3, "manage.py identity_phase 3")]
    shown = phase()
    assert "Identity migration phase: 3" in shown and "SSO bridge live" in shown


def test_skipping_a_phase_is_refused():
    with pytest.raises(CommandError, match="one step at a time"):
        phase("3")
    assert identity_phase_get() == 1


def test_phase_three_is_refused_while_legacy_emails_are_duplicated(legacy_report):
    set_phase(2)
    legacy_report["duplicates"] = ("ada@example.com", "bob@example.com")
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("identity_phase", "3", stdout=io.StringIO(), stderr=err)
    assert "duplicate_legacy_emails" in str(refused.value)
    assert "ada@example.com" in err.getvalue() and "bob@example.com" in err.getvalue()
    assert identity_phase_get() == 2


def test_phase_three_is_refused_when_the_lms_cannot_report(monkeypatch):
    set_phase(2)

    def unavailable(self):
        raise PortUnavailable()

    monkeypatch.setattr(LocalLearning, "legacy_report", unavailable)
    with pytest.raises(CommandError, match="lms_report_unavailable"):
        phase("3")


def test_the_providers_read_and_move_the_phase_one_step(legacy_report):
    assert identity_port().phase().to_wire() == {"phase": 1}
    assert identity_port().set_phase(phase=2, reason="go").to_wire() == {"phase": 2}
    assert identity_port().phase().phase == 2
    from integration.errors import ApplicationError

    with pytest.raises(ApplicationError):
        identity_port().set_phase(phase=2 + 2, reason="jump")
    assert identity_port().set_phase(phase=1, reason="rollback").phase == 1


def test_the_phase_endpoints_check_their_scopes(api_client, service_token, legacy_report):
    read, migrate = service_token("users:read"), service_token("users:migrate")
    assert api_client.get("/api/v1/identity/phase", HTTP_AUTHORIZATION=read).json() == {"phase": 1}
    refused = api_client.post("/api/v1/identity/phase", {"phase": 2, "reason": "x"}, format="json",
                              HTTP_AUTHORIZATION=read)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    moved = api_client.post("/api/v1/identity/phase", {"phase": 2, "reason": "bridge"}, format="json",
                            HTTP_AUTHORIZATION=migrate)
    assert moved.json() == {"phase": 2}
    assert IdentityPhaseChange.objects.get().changed_by == "service:lms-service"
    assert api_client.get("/api/v1/identity/phase").status_code == 401


# --- import_user --------------------------------------------------------------------

def bcrypt_hash(password: str, prefix: str = "$2b$") -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode().replace("$2b$", prefix, 1)


def import_user(**kwargs) -> dict:
    body = {"email": "legacy@example.com", "passwordHash": bcrypt_hash("old-lms-password"), "lmsUserId": "lms-1"}
    body.update(kwargs)
    return identity_port().import_user(email=body["email"], password_hash=body["passwordHash"],
                                       lms_user_id=body["lmsUserId"]).to_wire()


def test_import_is_refused_before_phase_three():
    from integration.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        import_user()
    assert refused.value.code == "wrong_phase" and refused.value.status_code == 409
    assert not User.objects.exists()


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_import_creates_the_user_with_the_legacy_bcrypt_hash(api_client, prefix):
    set_phase(3)
    answer = import_user(passwordHash=bcrypt_hash("old-lms-password", prefix))
    assert answer["created"] is True
    user = User.objects.get(pk=answer["userId"])
    assert user.password.startswith("bcrypt$$2")
    assert not user.password.startswith("bcrypt$$2y$")
    assert LmsAccountLink.objects.get(user=user).lms_user_id == "lms-1"
    response = api_client.post("/api/v1/auth/login/", {"email": "legacy@example.com", "password": "old-lms-password"},
                               format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


def test_import_is_idempotent():
    set_phase(3)
    first, second = import_user(), import_user()
    assert first["created"] is True and second == {"userId": first["userId"], "created": False}
    assert User.objects.count() == 1


def test_a_django_format_hash_is_kept_as_it_is():
    from django.contrib.auth.hashers import make_password

    set_phase(3)
    encoded = make_password("pbkdf2-pass-123", hasher="pbkdf2_sha256")
    answer = import_user(passwordHash=encoded)
    assert User.objects.get(pk=answer["userId"]).password == encoded


@pytest.mark.parametrize("bad", ["md5:abc", "plaintext", "$1$abc$def", "", "sha1$$x"])
def test_unsupported_hashes_are_refused(bad):
    set_phase(3)
    from integration.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        import_user(passwordHash=bad)
    assert refused.value.code == "unsupported_hash"
    assert not User.objects.exists()


def test_an_existing_verified_commerce_account_is_linked_and_keeps_its_password():
    set_phase(3)
    existing = UserFactory(email="legacy@example.com", verified=True)
    before = existing.password
    answer = import_user()
    assert answer == {"userId": str(existing.id), "created": False}
    existing.refresh_from_db()
    assert existing.password == before
    assert LmsAccountLink.objects.get().user == existing


def test_an_unverified_commerce_account_with_the_email_is_not_linked():
    set_phase(3)
    squatter = UserFactory(email="legacy@example.com", verified=False)
    from integration.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        import_user()
    assert refused.value.code == "email_conflict_unverified" and refused.value.status_code == 409
    assert not LmsAccountLink.objects.exists()
    assert User.objects.get().pk == squatter.pk


def test_one_lms_account_cannot_be_linked_twice():
    set_phase(3)
    import_user()
    from integration.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        import_user(lmsUserId="lms-2")
    assert refused.value.code == "lms_user_conflict"


def test_the_import_endpoint(api_client, service_token):
    set_phase(3)
    body = {"email": "legacy@example.com", "passwordHash": bcrypt_hash("pw-123456"), "lmsUserId": "lms-9"}
    refused = api_client.post("/api/v1/identity/import-user", body, format="json",
                              HTTP_AUTHORIZATION=service_token("users:read"))
    assert refused.status_code == 403
    created = api_client.post("/api/v1/identity/import-user", body, format="json",
                              HTTP_AUTHORIZATION=service_token("users:migrate"))
    assert created.status_code == 201 and created.json()["created"] is True
    again = api_client.post("/api/v1/identity/import-user", body, format="json",
                            HTTP_AUTHORIZATION=service_token("users:migrate"))
    assert again.status_code == 200 and again.json() == {"userId": created.json()["userId"], "created": False}
    bad = api_client.post("/api/v1/identity/import-user", {**body, "passwordHash": "md5$x"}, format="json",
                          HTTP_AUTHORIZATION=service_token("users:migrate"))
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unsupported_hash"
