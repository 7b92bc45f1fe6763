"""Service tokens: minted by identity, verified locally on either side, scoped per endpoint."""

import time

import jwt
import pytest
import responses
from django.conf import settings
from rest_framework.test import APIRequestFactory

from integration import service_auth
from integration.service_auth import (
    InsufficientScope,
    ServiceAuthError,
    ServiceTokenAuthentication,
    is_service_token,
    mint_service_token,
    require_scope,
    verify_service_token,
)


def test_a_minted_token_verifies_with_its_scopes():
    principal = verify_service_token(mint_service_token(client_id="lms-service", scopes=["users:read", "roles:write"]))
    assert principal.client_id == "lms-service"
    assert principal.scopes == {"users:read", "roles:write"}
    assert principal.is_authenticated and principal.is_service


def test_expired_wrong_key_wrong_audience_and_user_tokens_are_refused():
    expired = mint_service_token(client_id="c", scopes=["users:read"], now=time.time() - 7200)
    with pytest.raises(ServiceAuthError) as excinfo:
        verify_service_token(expired)
    assert excinfo.value.code == "expired_service_token"
    claims = jwt.decode(mint_service_token(client_id="c", scopes=[]), options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-key", algorithm="HS256")
    other_audience = jwt.encode({**claims, "aud": "cadence"}, settings.SERVICE_TOKEN_SIGNING_KEY, algorithm="HS256")
    user_token = jwt.encode({**claims, "token_type": "access"}, settings.SERVICE_TOKEN_SIGNING_KEY, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, other_audience, user_token, unsigned, "garbage"):
        with pytest.raises(ServiceAuthError):
            verify_service_token(token)


def test_only_service_tokens_are_routed_to_the_service_verifier():
    assert is_service_token(mint_service_token(client_id="c", scopes=[]))
    user_like = jwt.encode({"token_type": "access", "sub": "u"}, "k", algorithm="HS256")
    for token in (user_like, "", "a.b", "a.!!!.c", "x.eyJub3QiOiJqc29u.y"):
        assert not is_service_token(token)


def test_the_scope_permission_names_the_missing_scope():
    factory = APIRequestFactory()
    token = mint_service_token(client_id="c", scopes=["users:read"])
    request = factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    principal, _ = ServiceTokenAuthentication().authenticate(request)
    request.user = principal
    assert require_scope("users:read")().has_permission(request, None)
    with pytest.raises(InsufficientScope) as excinfo:
        require_scope("roles:write")().has_permission(request, None)
    assert excinfo.value.details == {"requiredScope": "roles:write"}


def test_a_user_bearer_token_is_left_to_the_next_authentication_class():
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION="Bearer " + jwt.encode({"sub": "u"}, "k"))
    assert ServiceTokenAuthentication().authenticate(request) is None


@responses.activate
def test_outgoing_tokens_come_from_the_issuer_over_http_and_are_reused(settings, monkeypatch):
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "lms-service", "s3cret"
    settings.COMMERCE_BASE_URL = "http://commerce.test"
    settings.INTEGRATION_FORCE_HTTP = True  # as on the LMS side of a split deployment: the issuer is remote
    responses.post("http://commerce.test/api/v2/auth/service-token",
                   json={"accessToken": "tok-1", "expiresIn": 3600, "scope": ["users:read"]})
    assert service_auth.outgoing_service_token(scope="users:read") == "tok-1"
    assert service_auth.outgoing_service_token(scope="users:read") == "tok-1"
    assert len(responses.calls) == 1
    assert b'"clientSecret":"s3cret"' in responses.calls[0].request.body
    assert "Authorization" not in responses.calls[0].request.headers, "the exchange itself needs no token"


@responses.activate
def test_a_refusing_issuer_is_a_503_not_a_crash(settings, monkeypatch):
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "lms-service", "wrong"
    settings.COMMERCE_BASE_URL = "http://commerce.test"
    settings.INTEGRATION_FORCE_HTTP = True
    responses.post("http://commerce.test/api/v2/auth/service-token", status=401, json={})
    with pytest.raises(ServiceAuthError) as excinfo:
        service_auth.outgoing_service_token(scope="users:read")
    assert excinfo.value.status_code == 503 and excinfo.value.code == "service_token_refused"


def test_no_configured_client_is_said_plainly(settings):
    settings.SERVICE_CLIENT_ID = ""
    with pytest.raises(ServiceAuthError) as excinfo:
        service_auth.outgoing_service_token(scope="users:read")
    assert excinfo.value.code == "service_client_not_configured"
