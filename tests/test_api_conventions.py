"""The conventions every API follows (shared/API.md): one error shape, throttling, pagination, roles."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from integration.errors import ApplicationError, ConflictError
from integration.pagination import CursorPagination


class AlreadyOwned(ConflictError):
    code = "test_already_owned"
    default_message = "Already owned."


class EchoView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    class Input(serializers.Serializer):
        amount = serializers.DecimalField(max_digits=10, decimal_places=2)

    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["amount"] == 0:
            raise AlreadyOwned(details={"productId": "p1"})
        return Response({"amount": str(data.validated_data["amount"])})


class TightThrottle(AnonRateThrottle):
    rate = "2/min"


class ThrottledView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [TightThrottle]

    def get(self, request):
        return Response({"ok": True})


class CrashView(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request):
        raise ValueError("secret detail that must not leak")


urlpatterns = [
    path("api/v1/test/echo", EchoView.as_view()),
    path("api/v1/test/throttled", ThrottledView.as_view()),
    path("api/v1/test/crash", CrashView.as_view()),
]

pytestmark = pytest.mark.urls(__name__)


def test_validation_error_has_the_one_shape(api_client):
    response = api_client.post("/api/v1/test/echo", {"amount": "abc"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert "amount" in body["error"]["details"]


def test_malformed_json_is_a_400_json_error(api_client):
    response = api_client.post("/api/v1/test/echo", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_application_error_keeps_code_status_and_details(api_client):
    response = api_client.post("/api/v1/test/echo", {"amount": "0.00"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "test_already_owned", "message": "Already owned.",
                                         "details": {"productId": "p1"}}}


def test_throttling_answers_429_with_retry_after(api_client):
    assert api_client.get("/api/v1/test/throttled").status_code == 200
    assert api_client.get("/api/v1/test/throttled").status_code == 200
    response = api_client.get("/api/v1/test/throttled")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_unexpected_error_is_json_without_internals(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/api/v1/test/crash")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert b"secret detail" not in response.content


def test_application_error_defaults():
    error = ApplicationError()
    assert error.as_body() == {"error": {"code": "bad_request", "message": error.default_message, "details": {}}}


def test_cursor_pagination_shape():
    schema = CursorPagination().get_paginated_response_schema({"type": "array"})
    assert set(schema["properties"]) == {"results", "next", "previous"}
    assert CursorPagination.max_page_size == 100 and CursorPagination.page_size == 20


def _served_paths(role: str) -> dict:
    script = (
        "import django, json; django.setup();"
        "from django.urls import resolve, Resolver404;"
        "paths = ['/api/v1/catalog/sync', '/api/v2/webhooks/commerce/entitlement', '/account/login/',"
        " '/healthz', '/lms/sso/callback'];"
        "out = {};\n"
        "for p in paths:\n"
        "    try:\n"
        "        resolve(p); out[p] = True\n"
        "    except Resolver404:\n"
        "        out[p] = False\n"
        "from django.conf import settings;"
        "out['apps'] = sorted(a for a in settings.INSTALLED_APPS if '.' not in a);"
        "print(json.dumps(out))"
    )
    env = {**os.environ, "SERVICE_ROLE": role, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            cwd=settings.BASE_DIR, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("role", "commerce", "lms"), [("monolith", True, True), ("commerce", True, False),
                                                       ("lms", False, True)])
def test_service_role_selects_apps_and_urls(role, commerce, lms):
    served = _served_paths(role)
    assert served["/healthz"] is True
    assert served["/api/v1/catalog/sync"] is commerce
    assert served["/account/login/"] is commerce
    assert served["/api/v2/webhooks/commerce/entitlement"] is lms
    assert served["/lms/sso/callback"] is lms
    assert ("identity" in served["apps"]) is commerce
    assert ("learning" in served["apps"]) is lms


