"""Response headers (issue 8 item 16): CSP without inline script, Permissions-Policy, Retry-After, no banner."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from integration.middleware import PERMISSIONS_POLICY, content_security_policy

pytestmark = pytest.mark.django_db


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


@pytest.mark.parametrize("path", ["/", "/api/v1/no-such-thing", "/no-such-page/", "/admin/login/",
                                  "/api/v1/schema/", "/healthz-not"])
def test_every_response_carries_the_policies(client, path):
    response = client.get(path)
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"][0] == "'self'"
    assert not {"'unsafe-inline'", "'unsafe-eval'"} & set(policy["script-src"] + policy["default-src"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert "camera=()" in response["Permissions-Policy"]


def test_forms_may_post_to_the_other_side_for_the_sso_handoff(settings):
    settings.LMS_BASE_URL = "https://lms.example.com/base/"
    assert "https://lms.example.com" in _directives(content_security_policy())["form-action"]


TEMPLATE_DIRS = [Path(settings.BASE_DIR, "templates"), *Path(settings.BASE_DIR).glob("*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:json|ld\+json)\")[^>]*>",
                           re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_has_an_inline_script_or_an_event_attribute():
    offenders = []
    for directory in TEMPLATE_DIRS:
        for template in directory.rglob("*.html"):
            if "email" in template.parts:
                continue  # emails are not pages: no script runs in them
            text = template.read_text()
            if INLINE_SCRIPT.search(text) or EVENT_ATTRIBUTE.search(text):
                offenders.append(str(template.relative_to(settings.BASE_DIR)))
    assert offenders == []


@pytest.mark.skipif(not settings.SERVES_COMMERCE, reason="the store's SSO page")
def test_the_sso_handoff_page_submits_from_a_static_script(client):
    from tests.identity.factories import UserFactory

    client.force_login(UserFactory(verified=True))
    response = client.get("/account/sso/lms/", {"state": "s" * 43})
    if response.status_code != 200:
        pytest.skip(f"the SSO start page answered {response.status_code} without a begun handoff")
    page = response.content.decode()
    assert "identity/sso_start.js" in page
    assert not INLINE_SCRIPT.search(page)


def test_the_swagger_page_loads_its_start_up_script_as_a_file(client, settings):
    settings.DEBUG = False
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert not INLINE_SCRIPT.search(response.content.decode())


def test_a_429_without_retry_after_gets_one(rf):
    from django.http import HttpResponse, JsonResponse

    from integration.middleware import SecurityHeadersMiddleware

    body = {"error": {"code": "throttled", "message": "x", "details": {"retryAfterSeconds": 17}}}
    assert SecurityHeadersMiddleware(lambda r: JsonResponse(body, status=429))(rf.get("/"))["Retry-After"] == "17"
    assert int(SecurityHeadersMiddleware(lambda r: HttpResponse(status=429))(rf.get("/"))["Retry-After"]) > 0


@pytest.mark.skipif(not settings.SERVES_COMMERCE, reason="the store's login")
def test_the_store_login_lockout_answers_retry_after(client, settings):
    from tests.identity.factories import UserFactory

    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_KIB, settings.ARGON2_PARALLELISM = 1, 1024, 1
    user = UserFactory(verified=True)
    for _ in range(settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT + 1):
        response = client.post("/api/v1/auth/login/", data=json.dumps({"email": user.email, "password": "wrong"}),
                               content_type="application/json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) == response.json()["error"]["details"]["retryAfterSeconds"]


def test_make_run_sends_no_wsgiserver_banner(monkeypatch):
    from django.core.servers import basehttp

    from integration.management.commands import serve

    monkeypatch.setattr(basehttp.ServerHandler, "server_software", basehttp.ServerHandler.server_software)
    monkeypatch.setattr(serve, "call_command", lambda *args, **kwargs: None)
    monkeypatch.setattr(serve, "beat_schedule_tasks", lambda: None)
    monkeypatch.setattr(serve, "run_schedule_forever", lambda stop: None)
    serve.Command().handle(host="127.0.0.1", port="8000", reload=False)
    assert not basehttp.ServerHandler.server_software
