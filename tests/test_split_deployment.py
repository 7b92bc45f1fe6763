"""Commerce and LMS as two services, by configuration alone (DESIGN.md section 4).

Two real server processes from this codebase, one with SERVICE_ROLE=commerce and
one with SERVICE_ROLE=lms, each with its own database and local secrets, sharing
only what the README says they share (webhook secrets and the service-token key).
Everything crosses over HTTP: the identity port with a service token, the SSO
handoff between two origins, and the outbox's signed webhooks.
"""

import json
import re
import secrets
from urllib.parse import urljoin

import pytest
import requests

from tests.split_services import PASSWORD, Service, collect_static


@pytest.fixture(scope="module")
def deployments(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("split")
    lms_secret = secrets.token_urlsafe(24)
    shared = {"WEBHOOK_SECRETS": secrets.token_urlsafe(32),
              "SERVICE_TOKEN_SIGNING_KEY": secrets.token_urlsafe(48)}
    # Two host names, so each side keeps its own cookies (cookies ignore the port).
    static_root = collect_static(tmp)  # DEBUG is off: pages name the hashed files
    commerce = Service(role="commerce", host="127.0.0.1", tmp=tmp, shared=shared, static_root=static_root)
    lms = Service(role="lms", host="localhost", tmp=tmp, shared=shared, static_root=static_root)
    request.addfinalizer(commerce.stop)
    request.addfinalizer(lms.stop)
    commerce.env["LMS_BASE_URL"] = lms.url
    lms.env.update({"COMMERCE_BASE_URL": commerce.url, "SERVICE_CLIENT_ID": "lms-service",
                    "SERVICE_CLIENT_SECRET": lms_secret})
    for service in (commerce, lms):
        service.manage("migrate", "--noinput")
    # The secret on standard input: never in the process list (and a leading "-" is no problem).
    commerce.manage("create_service_client", "lms-service", "--secret-stdin",
                    "--scope", "tokens:validate", "--scope", "users:read", stdin=lms_secret + "\n")
    commerce.manage("identity_phase", "2")
    commerce.start()
    lms.start()
    return commerce, lms


def _register_and_login(commerce: Service, email: str) -> dict:
    api = requests.Session()
    registered = api.post(f"{commerce.url}/api/v1/auth/registration/",
                          json={"email": email, "password1": PASSWORD, "password2": PASSWORD}, timeout=10)
    assert registered.status_code == 201, registered.text
    login = api.post(f"{commerce.url}/api/v1/auth/login/", json={"email": email, "password": PASSWORD}, timeout=10)
    assert login.status_code == 200, login.text
    return login.json()


def _lms_users(lms: Service) -> list[dict]:
    script = ("import json; from learning.models import LmsUser; "
              "print(json.dumps(list(LmsUser.objects.values('email', 'commerce_user_id', 'is_active'))))")
    return json.loads(lms.manage("shell", "-c", script).strip().splitlines()[-1])


def test_each_side_serves_only_its_own_apps(deployments):
    commerce, lms = deployments
    assert requests.get(f"{commerce.url}/lms/", timeout=10, allow_redirects=False).status_code == 404
    assert requests.post(f"{lms.url}/api/v1/auth/login/", json={}, timeout=10).status_code == 404
    assert requests.get(f"{lms.url}/account/login/", timeout=10).status_code == 404


def test_a_commerce_token_works_on_the_lms_api_through_the_http_identity_port(deployments):
    commerce, lms = deployments
    tokens = _register_and_login(commerce, "api-split@example.com")
    me = requests.get(f"{lms.url}/api/v2/me/", headers={"Authorization": f"Bearer {tokens['access']}"}, timeout=20)
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "api-split@example.com"
    assert me.json()["commerceUserId"] == tokens["user"]["id"]
    forged = requests.get(f"{lms.url}/api/v2/me/", headers={"Authorization": "Bearer not.a.token"}, timeout=20)
    assert forged.status_code == 401


def test_the_sso_handoff_across_two_origins_then_erasure_reaches_the_lms_as_a_signed_webhook(deployments):
    commerce, lms = deployments
    _register_and_login(commerce, "browser-split@example.com")
    browser = requests.Session()
    login_page = browser.get(f"{commerce.url}/account/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    logged_in = browser.post(f"{commerce.url}/account/login/", timeout=10, allow_redirects=False,
                             data={"login": "browser-split@example.com", "password": PASSWORD,
                                   "csrfmiddlewaretoken": csrf}, headers={"Referer": f"{commerce.url}/account/login/"})
    assert logged_in.status_code == 302

    # "My courses": the LMS gives this browser a state and sends it to the store ...
    begin = browser.get(f"{lms.url}/lms/sso/begin", timeout=10, allow_redirects=False)
    assert begin.headers["Location"].startswith(f"{commerce.url}/account/sso/lms/?state=")
    # ... which answers a form that posts the token and the state back to the LMS.
    start = browser.get(begin.headers["Location"], timeout=10)
    action = re.search(r'<form id="lms-sso-form" method="post" action="([^"]+)"', start.text).group(1)
    assert action == f"{lms.url}/lms/sso/callback"
    fields = dict(re.findall(r'name="(token|state)" value="([^"]+)"', start.text))
    callback = browser.post(action, data=fields, timeout=20, allow_redirects=False)
    assert callback.status_code == 302 and urljoin(action, callback.headers["Location"]) == f"{lms.url}/lms/"
    assert "browser-split@example.com" in browser.get(f"{lms.url}/lms/", timeout=10).text

    # Erasing the account at the store travels to the LMS through the outbox as a signed webhook.
    account = browser.get(f"{commerce.url}/account/delete/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', account.text).group(1)
    erased = browser.post(f"{commerce.url}/account/delete/", timeout=20, allow_redirects=False,
                          data={"password": PASSWORD, "confirm": "on", "csrfmiddlewaretoken": csrf},
                          headers={"Referer": f"{commerce.url}/account/delete/"})
    assert erased.status_code == 302, erased.text[-500:]
    users = {u["commerce_user_id"]: u for u in _lms_users(lms)}
    erased_user = next(u for u in users.values() if u["email"].startswith("erased-"))
    assert erased_user["is_active"] is False
    assert not any(u["email"] == "browser-split@example.com" for u in users.values())
