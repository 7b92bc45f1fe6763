"""No 500s from bad input (issue 8 item 15): oversized bodies, deep JSON, odd tokens, plain messages."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not settings.SERVES_COMMERCE, reason="the store's API")]

TWENTY_MB = 20 * 1024 * 1024


def _user():
    from tests.identity.factories import PASSWORD, UserFactory

    user = UserFactory(verified=True)
    return user, PASSWORD


@pytest.fixture(autouse=True)
def _cheap_hashing(settings):
    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_KIB, settings.ARGON2_PARALLELISM = 1, 1024, 1


@pytest.mark.parametrize("path", ["/api/v1/auth/login/", "/api/v1/auth/registration/",
                                  "/api/v2/auth/legacy-login", "/api/v1/catalog/sync"])
def test_a_20_mb_body_is_a_413_on_every_api_path(client, path):
    body = json.dumps({"email": "a@example.com", "password": "x" * TWENTY_MB})
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"]["maxBytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_20_mb_form_on_a_page_is_a_413_page(client):
    response = client.post("/account/login/", data={"login": "a@example.com", "password": "x" * TWENTY_MB})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


def test_a_body_read_past_the_limit_without_a_length_is_a_413_too(client):
    """A chunked body has no Content-Length: Django raises RequestDataTooBig when it reads it."""
    from django.core.exceptions import RequestDataTooBig
    from django.test import RequestFactory

    from integration.middleware import ApiErrorMiddleware

    request = RequestFactory().post("/api/v1/auth/login/", data=b"{}", content_type="application/json")
    response = ApiErrorMiddleware(lambda r: None).process_exception(request, RequestDataTooBig())
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/api/v1/auth/login/", "/api/v1/auth/registration/",
                                  "/api/v2/auth/legacy-login"])
def test_json_nested_thousands_deep_is_a_400(client, path):
    body = "[" * 5000 + "]" * 5000
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_json_just_past_our_depth_limit_is_a_400_and_within_it_is_read(client):
    from integration.parsers import MAX_JSON_DEPTH

    deep = {"email": "a@example.com", "password": "p"}
    for _ in range(MAX_JSON_DEPTH):
        deep = {"x": deep}
    assert client.post("/api/v1/auth/login/", data=json.dumps(deep),
                       content_type="application/json").status_code == 400
    shallow = client.post("/api/v1/auth/login/", data=json.dumps({"email": "a@example.com", "password": "p"}),
                          content_type="application/json")
    assert shallow.json()["error"]["code"] == "invalid_credentials"


def _access_token_with_subject(subject: str) -> str:
    from identity import tokens
    from identity.services.tokens import token_pair_issue

    user, _ = _user()
    pair = token_pair_issue(user=user)
    family = tokens.decode(pair.access, token_type=tokens.ACCESS)["fam"]
    now = timezone.now()
    token, _ = tokens.encode(token_type=tokens.ACCESS, user_id=subject, family_id=family, issued_at=now,
                             expires_at=now + timedelta(minutes=5))
    return token


def test_a_token_whose_subject_is_not_a_uuid_is_a_401(client):
    token = _access_token_with_subject("not-a-uuid")
    response = client.get("/api/v1/auth/user/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert "UUID" not in response.content.decode()


def test_messages_are_plain_text_never_a_python_repr(client):
    from identity.models import User

    token = _access_token_with_subject("00000000-0000-4000-8000-000000000000")
    assert not User.objects.filter(pk="00000000-0000-4000-8000-000000000000").exists()
    response = client.get("/api/v1/auth/user/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert message and not any(mark in message for mark in ("{", "[", "ErrorDetail", "'"))


def test_the_handler_never_renders_a_detail_dict_as_a_repr():
    from rest_framework.exceptions import AuthenticationFailed

    from integration.errors import as_application_error

    error = as_application_error(AuthenticationFailed({"detail": "Token is invalid", "code": "token_not_valid",
                                                       "messages": [{"token_class": "AccessToken"}]}))
    assert error.message == "Token is invalid"


def test_a_bad_uid_on_password_reset_confirm_does_not_say_uuid(client):
    response = client.post("/api/v1/auth/password/reset/confirm/", data=json.dumps({
        "uid": "zz", "token": "set-token", "new_password1": "Another-pass-1234", "new_password2": "Another-pass-1234",
    }), content_type="application/json")
    assert response.status_code == 400
    assert "UUID" not in response.content.decode() and "uuid" not in response.content.decode()


def test_django_validation_permission_and_404_raised_in_a_plain_api_view_are_json(rf):
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.http import Http404

    from integration.middleware import ApiErrorMiddleware

    middleware = ApiErrorMiddleware(lambda request: None)
    request = rf.get("/api/v1/anything")
    answers = {exc.__class__.__name__: middleware.process_exception(request, exc)
               for exc in (ValidationError("bad"), PermissionDenied(), Http404())}
    assert {name: (r.status_code, json.loads(r.content)["error"]["code"]) for name, r in answers.items()} == {
        "ValidationError": (400, "validation_error"), "PermissionDenied": (403, "permission_denied"),
        "Http404": (404, "not_found")}


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/auth/password/reset/", '{"email": "\\ud800@example.com"}'),
    ("/api/v1/auth/registration/resend-email/", '{"email": "\\udfff"}'),
    ("/api/v1/auth/login/", '{"email": "a@example.com", "password": "\\ud800"}'),
    ("/api/v1/auth/login/", '{"\\ud800": "key, not value"}'),
])
def test_a_lone_surrogate_escape_is_a_400_not_a_crash(client, path, body):
    """``"\\\\ud800"`` parses into a str that UTF-8 cannot encode: allauth's rate-limit key hash and the JSON
    renderer of a validation message that echoes the value raised UnicodeEncodeError (a 500) before."""
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_request"
    assert "surrogate" in response.json()["error"]["message"]


def test_a_lone_surrogate_in_a_choice_field_of_an_authenticated_api_is_a_400(client):
    """The role grant echoed the bad choice back in its message, which the renderer could not encode."""
    from identity.models import Role, UserRole
    from identity.services.tokens import token_pair_issue

    admin, _ = _user()
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    token = token_pair_issue(user=admin).access
    response = client.post(f"/api/v1/users/{admin.pk}/roles", data='{"role": "\\ud800", "reason": "x"}',
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_request"


def test_a_surrogate_pair_is_one_character_and_is_read(client):
    response = client.post("/api/v1/auth/login/", data='{"email": "a@example.com", "password": "\\ud83d\\udcb8"}',
                           content_type="application/json")
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize("body", ['{"productId": "p1", "quantity": "\\u0000"}', '{"productId": "p1", "\\u0000": 1}'])
def test_a_nul_character_anywhere_in_an_api_body_is_a_400(client, body):
    """DRF's CharField refuses NUL in its own fields only; a JSONField (the cart's quantity, an exam's answers)
    passed it on, and PostgreSQL stores it in neither text nor jsonb."""
    from identity.services.tokens import token_pair_issue

    user, _ = _user()
    response = client.post("/api/v1/cart/items/", data=body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user).access}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_request"
    assert "NUL" in response.json()["error"]["message"]


NUL_URLS = ["/api/v1/orders/?q=%00", "/api/v1/orders/?status=a%00b", "/api/v1/payouts/ledger/?payee=%00",
            "/api/v1/payouts/balance/?currency=%00", "/api/v2/courses/?status=%00",
            "/api/v1/payouts/personal-data/%00", "/api/v2/programs/%00/revenue-config/", "/api/v1/orders/%00/"]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_in_an_api_url_is_a_400_before_any_view(client, url):
    """PostgreSQL stores NUL in no text column: these filters and lookups were 500s (DataError) there."""
    from identity.services.tokens import token_pair_issue

    user, _ = _user()
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user).access}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("url", ["/certificates/%00/", "/certificates/a%00b/pdf/", "/catalog/?q=%00"])
def test_a_nul_in_a_page_url_is_the_sites_400_page(client, url):
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_an_encoded_percent_sign_is_not_a_nul(client):
    assert client.get("/api/v1/catalog/products/?q=%2500").status_code == 200
