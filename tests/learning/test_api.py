"""The LMS API of this issue: /api/v2/me/, the SSO look-up (spec 6.2.1), the migration report, the schema."""

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.contracts.learning import LegacyReport, SsoUser
from integration.ports.learning import learning_port
from learning.authentication import CommerceBearerAuthentication, LmsSessionAuthentication
from learning.models import LmsUser
from tests.learning.conftest import bearer, service_token, sso_post
from tests.learning.factories import LegacyHashBackupFactory, LegacyUserFactory, LmsUserFactory

pytestmark = pytest.mark.django_db


# --- /api/v2/me/ -----------------------------------------------------------------

def test_me_with_a_commerce_bearer_token(api_client, fake_identity):
    token = fake_identity.issue(user_id="c-1", email="bea@example.com")
    response = api_client.get("/api/v2/me/", **bearer(token))
    assert response.status_code == 200
    user = LmsUser.objects.get(commerce_user_id="c-1")
    assert response.json() == {"lmsUserId": str(user.id), "commerceUserId": "c-1", "email": "bea@example.com",
                               "userTypes": ["learner"]}


def test_me_stays_cheap_with_a_warm_validation_cache(api_client, fake_identity, django_assert_max_num_queries):
    token = fake_identity.issue(user_id="c-2")
    api_client.get("/api/v2/me/", **bearer(token))
    with django_assert_max_num_queries(1):
        assert api_client.get("/api/v2/me/", **bearer(token)).status_code == 200
    assert fake_identity.validations == 1


def test_me_without_credentials_is_401(api_client, fake_identity):
    response = api_client.get("/api/v2/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_with_a_bad_or_revoked_token_is_401_with_the_spec_code(api_client, fake_identity):
    assert api_client.get("/api/v2/me/", **bearer("nope")).json()["error"]["code"] == "INVALID_TOKEN"
    token = fake_identity.issue()
    fake_identity.revoke(token)
    response = api_client.get("/api/v2/me/", **bearer(token))
    assert response.status_code == 401 and response.json()["error"]["code"] == "REVOKED_TOKEN"
    assert LmsUser.objects.count() == 0


def test_me_refuses_commerce_tokens_in_phase_one(api_client, fake_identity):
    fake_identity.set(1)
    response = api_client.get("/api/v2/me/", **bearer(fake_identity.issue()))
    # SsoNotEnabled has one status wherever it is raised (the error catalogue): 403, not a bad credential.
    assert response.status_code == 403 and response.json()["error"]["code"] == "sso_not_enabled"


def test_me_does_not_take_a_service_token_for_a_user(api_client, fake_identity):
    response = api_client.get("/api/v2/me/", **bearer(service_token("users:read")))
    assert response.status_code == 401
    assert fake_identity.validations == 0


def test_me_with_the_lms_session(client, fake_identity):
    sso_post(client, {"token": fake_identity.issue(user_id="c-3", email="sam@example.com")})
    body = client.get("/api/v2/me/").json()
    assert body["commerceUserId"] == "c-3" and body["email"] == "sam@example.com"


class _SessionWrite(APIView):
    authentication_classes = [CommerceBearerAuthentication, LmsSessionAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request):
        return Response({"email": request.user.email})


urlpatterns = [path("test/lms-session-write", _SessionWrite.as_view())]


@pytest.mark.urls(__name__)
def test_the_lms_session_needs_the_csrf_token_to_write(fake_identity):
    from django.test import Client

    user = LmsUserFactory()
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["_lms_user_id"] = str(user.pk)
    session.save()
    refused = client.post("/test/lms-session-write")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    client.get("/test/lms-session-write")  # 405, but sets nothing: take the token from a fresh cookie
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    allowed = client.post("/test/lms-session-write", HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret))
    assert allowed.status_code == 200 and allowed.json() == {"email": user.email}


# --- GET /api/v2/auth/sso/user (spec 6.2.1) ---------------------------------------

SSO_USER = "/api/v2/auth/sso/user"


def test_sso_user_found(api_client):
    user = LmsUserFactory(commerce_user_id="c-9", user_types=["learner", "staff"])
    response = api_client.get(SSO_USER, HTTP_X_COMMERCE_USER_ID="c-9", **bearer(service_token("users:read")))
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"exists": True, "lmsUserId": str(user.id),
                                                         "userTypes": ["learner", "staff"],
                                                         "hasActiveEnrollments": False}}


def test_sso_user_unknown(api_client):
    response = api_client.get(SSO_USER, HTTP_X_COMMERCE_USER_ID="c-none", **bearer(service_token("users:read")))
    assert response.json() == {"success": True, "data": {"exists": False}}


def test_sso_user_without_the_header_is_a_400(api_client):
    response = api_client.get(SSO_USER, **bearer(service_token("users:read")))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_header"


def test_sso_user_needs_the_users_read_scope(api_client):
    response = api_client.get(SSO_USER, HTTP_X_COMMERCE_USER_ID="c-9", **bearer(service_token("catalog:read")))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.parametrize("headers", [{}, bearer("a-user-token"), bearer(service_token("users:read") + "x")])
def test_sso_user_needs_a_valid_service_token(api_client, fake_identity, headers):
    response = api_client.get(SSO_USER, HTTP_X_COMMERCE_USER_ID="c-9", **headers)
    assert response.status_code == 401


def test_the_sso_user_provider_answers_through_the_port():
    user = LmsUserFactory(commerce_user_id="c-10")
    answer = learning_port().sso_user(commerce_user_id="c-10")
    assert answer == SsoUser(exists=True, lms_user_id=str(user.id), user_types=("learner",),
                             has_active_enrollments=False)
    assert learning_port().sso_user(commerce_user_id="c-11").exists is False


# --- the legacy report ------------------------------------------------------------

def _legacy_population():
    LegacyUserFactory(email="Dup@example.com")
    LegacyUserFactory(email="dup@example.com")
    LegacyUserFactory()
    migrated = LmsUserFactory()
    LegacyHashBackupFactory(lms_user=migrated)
    LmsUserFactory()  # an SSO user, not legacy


def test_the_legacy_report_endpoint(api_client):
    _legacy_population()
    response = api_client.get("/api/v2/identity-migration/report", **bearer(service_token("users:read")))
    assert response.status_code == 200
    assert response.json() == {"legacyAccounts": 4, "withPassword": 3, "migrated": 1,
                               "duplicateEmails": ["dup@example.com"]}
    assert api_client.get("/api/v2/identity-migration/report",
                          **bearer(service_token("catalog:read"))).status_code == 403
    assert api_client.get("/api/v2/identity-migration/report").status_code == 401


def test_the_legacy_report_provider_answers_through_the_port():
    _legacy_population()
    assert learning_port().legacy_report() == LegacyReport(legacy_accounts=4, with_password=3, migrated=1,
                                                           duplicate_emails=("dup@example.com",))


# --- the schema ---------------------------------------------------------------------

def test_every_lms_endpoint_is_in_the_schema(capsys):
    from drf_spectacular.drainage import GENERATOR_STATS

    from learning import urls

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=urls.urlpatterns).get_schema(request=None, public=True)
    assert "learning/" not in capsys.readouterr().err  # no spectacular warning about these views
    paths = schema["paths"]
    assert {"/api/v2/me/", "/api/v2/auth/sso/user", "/api/v2/auth/legacy-login",
            "/api/v2/identity-migration/report"} <= set(paths)
    assert paths["/api/v2/auth/sso/user"]["get"]["operationId"] == "lms_sso_user"
    header = paths["/api/v2/auth/sso/user"]["get"]["parameters"][0]
    assert (header["name"], header["in"], header["required"]) == ("X-Commerce-User-Id", "header", True)
    assert set(paths["/api/v2/me/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
               ["$ref"].split("/")[-1:]) == {"LmsMe"}


def test_me_when_identity_is_down_is_a_503_not_a_401(api_client, fake_identity):
    fake_identity.down = True
    response = api_client.get("/api/v2/me/", **bearer("some-token"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
