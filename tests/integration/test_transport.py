"""Adapter choice, the synchronous HTTP call, Retry-After parsing."""

from datetime import UTC, datetime

import pytest
import requests
import responses

from integration import routes, transport


def test_served_receivers_are_local_others_are_http(settings):
    catalog = routes.TOPICS["catalog.sync"]
    entitlement = routes.TOPICS["entitlement"]
    assert transport.route_is_local(catalog) and transport.route_is_local(entitlement)
    settings.SERVES_LMS = False
    assert transport.route_is_local(catalog) and not transport.route_is_local(entitlement)
    settings.INTEGRATION_FORCE_HTTP = True
    assert not transport.route_is_local(catalog)


def test_the_sender_is_the_side_that_does_not_receive():
    assert transport.sender_of(routes.TOPICS["catalog.sync"]) == "lms"
    assert transport.sender_of(routes.TOPICS["entitlement"]) == "commerce"


@responses.activate
def test_http_call_sends_query_service_token_and_request_id(settings, monkeypatch):
    import structlog

    settings.LMS_BASE_URL = "http://lms.test/"
    monkeypatch.setattr(transport, "_service_token", lambda route: f"token-for-{route.scope}")
    responses.get("http://lms.test/api/v2/commerce/catalog",
                  json={"success": True, "data": {"products": [{"suggestedPrice": 19.90}],
                                                  "pagination": {"hasMore": False}}})
    with structlog.contextvars.bound_contextvars(request_id="req-77"):
        status, answer = transport.http_call(routes.PORT_CALLS["learning.catalog_export"],
                                             params={"updatedSince": "2025-01-01T00:00:00Z"})
    assert status == 200
    from decimal import Decimal

    assert answer["data"]["products"][0]["suggestedPrice"] == Decimal("19.90")
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Bearer token-for-catalog:read"
    assert request.headers["X-Request-Id"] == "req-77"
    assert "updatedSince=2025-01-01T00%3A00%3A00Z" in request.url


@responses.activate
def test_http_call_posts_json_and_lets_connection_errors_through(settings, monkeypatch):
    settings.COMMERCE_BASE_URL = "http://commerce.test"
    monkeypatch.setattr(transport, "_service_token", lambda route: "t")
    route = routes.PORT_CALLS["identity.validate_token"]
    responses.post("http://commerce.test/api/v1/auth/validate-token", json={"valid": False}, status=200)
    assert transport.http_call(route, body={"token": "abc"}) == (200, {"valid": False})
    assert responses.calls[0].request.body == b'{"token":"abc"}'
    responses.post("http://commerce.test/api/v1/auth/validate-token", body=requests.ConnectionError("down"))
    with pytest.raises(OSError):
        transport.http_call(route, body={"token": "abc"})


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0),
    ("Sat, 01 Mar 2025 12:02:00 GMT", 120.0),
    ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after_has_two_forms(value, expected):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert transport.parse_retry_after(value, now=now) == expected


def test_path_placeholders_come_from_the_payload():
    route = routes.TOPICS["identity.role_revoke"]
    path, body = transport.split_path_params(route, {"userId": "u1", "role": "payee", "reason": "left"})
    assert path == {"userId": "u1", "role": "payee"}
    assert body == {"reason": "left"}
