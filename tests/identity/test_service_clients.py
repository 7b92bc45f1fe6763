"""Service clients and ``POST /api/v2/auth/service-token`` (spec 6.3)."""

import io

import pytest
from django.contrib.auth.hashers import get_hasher
from django.core.management import CommandError, call_command

from identity.models import ServiceClient
from integration.ports.identity import identity_port
from integration.service_auth import verify_service_token
from tests.identity.factories import ServiceClientFactory

pytestmark = pytest.mark.django_db
URL = "/api/v2/auth/service-token"
SECRET = "s3cret-s3cret-s3cret"


def ask(api_client, client_id="lms", secret=SECRET, scope=("tokens:validate",)):
    return api_client.post(URL, {"clientId": client_id, "clientSecret": secret, "scope": list(scope)}, format="json")


@pytest.fixture
def lms_client(db):
    return ServiceClientFactory(client_id="lms", scopes=["roles:write", "tokens:validate", "users:read"])


def test_good_credentials_get_a_scoped_token(api_client, lms_client):
    response = ask(api_client, scope=["tokens:validate", "roles:write"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expiresIn"] == 3600 and body["scope"] == ["tokens:validate", "roles:write"]
    principal = verify_service_token(body["accessToken"])
    assert principal.client_id == "lms" and principal.scopes == {"tokens:validate", "roles:write"}
    lms_client.refresh_from_db()
    assert lms_client.last_token_at is not None


def test_a_wrong_secret_and_an_unknown_client_get_the_same_401_after_one_hasher_run(api_client, lms_client,
                                                                                     monkeypatch):
    hasher_class = type(get_hasher("argon2"))
    runs = []
    real_encode, real_verify = hasher_class.encode, hasher_class.verify
    monkeypatch.setattr(hasher_class, "encode", lambda self, *a: runs.append(1) or real_encode(self, *a))
    monkeypatch.setattr(hasher_class, "verify", lambda self, *a: runs.append(1) or real_verify(self, *a))
    from identity.services.service_clients import _dummy_hash

    _dummy_hash()
    runs.clear()

    wrong = ask(api_client, secret="wrong-secret")
    wrong_runs, runs[:] = len(runs), []
    unknown = ask(api_client, client_id="nobody")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_client"
    assert wrong_runs == len(runs) == 1


def test_a_scope_the_client_was_not_granted_is_403(api_client, lms_client):
    response = ask(api_client, scope=["tokens:validate", "revenue:write"])
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "insufficient_scope" and error["details"] == {"notGranted": ["revenue:write"]}


def test_an_unknown_scope_name_is_400(api_client, lms_client):
    response = ask(api_client, scope=["everything"])
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_scope"


def test_an_inactive_client_is_refused(api_client, lms_client):
    lms_client.is_active = False
    lms_client.save()
    assert ask(api_client).status_code == 401


def test_malformed_requests_are_400(api_client, lms_client):
    assert api_client.post(URL, {"clientId": "lms"}, format="json").status_code == 400
    assert api_client.post(URL, {"clientId": "lms", "clientSecret": SECRET, "scope": []},
                           format="json").status_code == 400
    assert api_client.post(URL, data="{", content_type="application/json").status_code == 400


def test_repeated_wrong_secrets_lock_the_client_id_from_that_address(api_client, lms_client, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        ask(api_client, secret="wrong")
    response = ask(api_client)
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_client_attempts"
    assert response["Retry-After"]


def test_the_correct_secret_still_gets_a_token_after_others_guessed_wrong(api_client, lms_client, settings):
    """Issue 8, item 6: five wrong secrets from elsewhere made the right one answer 429."""
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 5
    for _ in range(10):
        api_client.post(URL, {"clientId": "lms", "clientSecret": "guess", "scope": ["tokens:validate"]},
                        format="json", REMOTE_ADDR="203.0.113.66")
    response = api_client.post(URL, {"clientId": "lms", "clientSecret": SECRET, "scope": ["tokens:validate"]},
                               format="json", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200, response.content


def test_the_provider_answers_the_same(lms_client):
    answer = identity_port().issue_service_token(client_id="lms", client_secret=SECRET, scope=("users:read",))
    assert answer.scope == ("users:read",) and verify_service_token(answer.access_token).client_id == "lms"


def test_outgoing_service_tokens_use_the_provider_in_process(lms_client, settings):
    from integration.service_auth import outgoing_service_token

    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "lms", SECRET
    token = outgoing_service_token(scope="tokens:validate")
    assert verify_service_token(token).has_scope("tokens:validate")


def test_create_service_client_is_idempotent_and_stores_the_secret_hashed():
    out = io.StringIO()
    call_command("create_service_client", "lms-service", "--secret", "first-secret-value-1",
                 "--scope", "tokens:validate", "--scope", "users:read", stdout=out, stderr=io.StringIO())
    assert "Created service client lms-service" in out.getvalue()
    client = ServiceClient.objects.get(client_id="lms-service")
    assert client.scopes == ["tokens:validate", "users:read"]
    assert "first-secret-value-1" not in client.secret_hash and client.secret_hash.startswith("argon2$")

    out = io.StringIO()
    call_command("create_service_client", "lms-service", "--secret", "second-secret-value-2",
                 "--scope", "roles:write", stdout=out, stderr=io.StringIO())
    assert "Updated service client lms-service" in out.getvalue()
    assert ServiceClient.objects.count() == 1
    client.refresh_from_db()
    assert client.scopes == ["roles:write"]
    from identity.services.service_clients import service_token_issue

    assert service_token_issue(client_id="lms-service", client_secret="second-secret-value-2",
                               scope=["roles:write"])["scope"] == ["roles:write"]


def test_create_service_client_refuses_unknown_scopes_and_bad_ids():
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_service_client", "x", "--secret", "long-enough-secret-1", "--scope", "root")
    with pytest.raises(CommandError):
        call_command("create_service_client", "bad id!", "--secret", "long-enough-secret-1",
                     "--scope", "users:read")
    assert not ServiceClient.objects.exists()
