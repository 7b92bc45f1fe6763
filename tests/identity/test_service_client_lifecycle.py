"""Issue 8, items 11, 12 and 19: service tokens follow their client's state; the SSO handoff token
opens nothing at the store; ``create_service_client`` keeps secrets off the command line."""

import io
import os

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command

from identity.models import ServiceClient, ServiceClientAuditLog
from identity.selectors import token_validate
from identity.services.roles import actor_for_system
from identity.services.service_clients import service_client_upsert, service_token_issue
from identity.services.tokens import sso_access_token_issue

pytestmark = pytest.mark.django_db
SECRET = "a-long-client-secret-1"
ACTOR = actor_for_system("tests")
VALIDATE = "/api/v1/auth/validate-token"


@pytest.fixture
def client_token(db):
    service_client_upsert(client_id="lms-service", secret=SECRET, scopes=["tokens:validate", "users:read"],
                          actor=ACTOR)
    return service_token_issue(client_id="lms-service", client_secret=SECRET,
                               scope=["tokens:validate", "users:read"])["accessToken"]


def _validate(api_client, token, service):
    return api_client.post(VALIDATE, {"token": "x.y.z"}, format="json", HTTP_AUTHORIZATION=f"Bearer {service}")


def test_an_issued_token_names_its_client(client_token):
    import jwt

    claims = jwt.decode(client_token, options={"verify_signature": False})
    assert claims["sub"] == claims["cid"] == "lms-service"


@pytest.mark.parametrize("change, status", [
    ({"is_active": False}, 401),
    ({"secret": "a-brand-new-secret-2"}, 401),
    ({"scopes": ["users:read"]}, 403),
])
def test_a_service_token_stops_working_when_its_client_changes(api_client, client_token, change, status):
    assert _validate(api_client, "x", client_token).status_code == 200
    service_client_upsert(client_id="lms-service", actor=ACTOR,
                          **{"scopes": ["tokens:validate", "users:read"], **change})
    response = _validate(api_client, "x", client_token)
    assert response.status_code == status, response.content


def test_the_client_state_is_cached_zero_queries_when_warm(api_client, client_token, user,
                                                          django_assert_num_queries):
    from identity.services.tokens import token_pair_issue

    access = token_pair_issue(user=user).access
    api_client.post(VALIDATE, {"token": access}, format="json", HTTP_AUTHORIZATION=f"Bearer {client_token}")
    with django_assert_num_queries(0):
        response = api_client.post(VALIDATE, {"token": access}, format="json",
                                   HTTP_AUTHORIZATION=f"Bearer {client_token}")
    assert response.json()["valid"] is True


def test_the_sso_handoff_token_is_for_the_lms_only(api_client, user, bearer):
    token = sso_access_token_issue(user=user, session_binding="b-1")
    assert token_validate(token=token)["valid"] is True  # what the LMS asks
    for path in ("/api/v1/auth/me/export", "/api/v1/auth/user/"):
        assert api_client.get(path, **bearer(token)).status_code == 401, path


# --- create_service_client ---------------------------------------------------------------------

def _run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("create_service_client", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _secret_ok(secret: str) -> bool:
    return check_password(secret, ServiceClient.objects.get(client_id="reporting").secret_hash)


def test_a_secret_starting_with_a_dash_is_accepted():
    _run("reporting", "--secret", "-starts-with-a-dash-1", "--scope", "catalog:read")
    assert _secret_ok("-starts-with-a-dash-1")
    _run("reporting", "--secret=-another-dash-secret-2", "--scope", "catalog:read")
    assert _secret_ok("-another-dash-secret-2")


def test_a_dash_secret_on_the_real_command_line(tmp_path):
    import subprocess
    import sys

    from django.conf import settings

    # Its own throwaway deployment: the test run's DATABASE_URL names a database only the test copy exists of.
    env = {**{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
           "DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run([sys.executable, "manage.py", "create_service_client", "x", "--secret", "-abc",
                             "--scope", "nope"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
                            timeout=120)
    assert "expected one argument" not in result.stderr  # parsed; refused for its unknown scope instead
    assert "Unknown scope" in result.stderr


def test_the_secret_from_stdin_a_file_or_the_environment(monkeypatch, tmp_path):
    _run("reporting", "--secret-stdin", "--scope", "catalog:read", stdin="-from-stdin-secret-1\n",
         monkeypatch=monkeypatch)
    assert _secret_ok("-from-stdin-secret-1")
    path = tmp_path / "secret"
    path.write_text("from-a-file-secret-2\n")
    _run("reporting", "--secret-file", str(path), "--scope", "catalog:read")
    assert _secret_ok("from-a-file-secret-2")
    monkeypatch.setenv("REPORTING_SECRET", "from-the-env-secret-3")
    _run("reporting", "--secret-env", "REPORTING_SECRET", "--scope", "catalog:read")
    assert _secret_ok("from-the-env-secret-3")


def test_without_a_secret_a_new_client_gets_one_printed_once_and_an_old_one_keeps_its_own():
    out = _run("reporting", "--scope", "catalog:read")
    generated = out.strip().splitlines()[-1]
    assert len(generated) >= 40 and _secret_ok(generated)
    again = _run("reporting", "--scope", "catalog:read", "--scope", "users:read")
    assert generated not in again and _secret_ok(generated)
    assert ServiceClient.objects.get(client_id="reporting").scopes == ["catalog:read", "users:read"]


def test_every_change_from_the_command_is_audited_without_the_secret():
    _run("reporting", "--secret", "first-secret-value-1", "--scope", "catalog:read")
    _run("reporting", "--secret", "first-secret-value-1", "--scope", "catalog:read")  # no change
    _run("reporting", "--secret", "second-secret-value-2", "--scope", "catalog:read")
    _run("reporting", "--scope", "catalog:read", "--deactivate")
    rows = list(ServiceClientAuditLog.objects.filter(client_id="reporting").order_by("id"))
    assert [row.action for row in rows] == ["create", "secret", "deactivate"]
    assert all(row.actor == "system:manage.py create_service_client" for row in rows)
    assert not any("secret-value" in str(row.changes) for row in rows)
