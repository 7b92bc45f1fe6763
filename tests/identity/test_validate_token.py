"""``POST /api/v1/auth/validate-token`` (spec 6.1.1), its provider, and its database-free hot path."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from identity.models import Role
from identity.services.roles import role_grant
from identity.services.tokens import family_revoke, token_pair_issue
from integration.ports.identity import identity_port, validate_token_cached

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/validate-token"


def validate(api_client, token, authorization):
    return api_client.post(URL, {"token": token}, format="json", HTTP_AUTHORIZATION=authorization)


def test_a_valid_token_answers_the_users_identity(api_client, user, service_token):
    pair = token_pair_issue(user=user)
    response = validate(api_client, pair.access, service_token("tokens:validate"))
    assert response.status_code == 200
    assert response.json() == {"valid": True, "user": {"id": str(user.id), "email": user.email,
                                                       "commerceRoles": ["purchaser"]},
                               "expiresAt": response.json()["expiresAt"]}


@pytest.mark.parametrize("case, code", [
    ("garbage", "INVALID_TOKEN"),
    ("expired", "EXPIRED_TOKEN"),
    ("revoked", "REVOKED_TOKEN"),
    ("refresh", "INVALID_TOKEN"),
    ("deactivated", "REVOKED_TOKEN"),
])
def test_bad_tokens_answer_200_valid_false_with_the_spec_code(api_client, user, service_token, case, code):
    pair = token_pair_issue(user=user)
    token = {"garbage": "abc.def.ghi", "refresh": pair.refresh}.get(case, pair.access)
    if case == "revoked":
        family_revoke(family_id=pair.family_id, reason="logout")
    if case == "deactivated":
        user.is_active = False
        user.save()
    moment = timezone.now() + timedelta(hours=2) if case == "expired" else timezone.now()
    with freeze_time(moment):
        response = validate(api_client, token, service_token("tokens:validate"))
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False and body["error"]["code"] == code
    assert set(body) == {"valid", "error"} and set(body["error"]) == {"code", "message"}


def test_a_service_token_without_the_scope_gets_403_insufficient_scope(api_client, user, service_token):
    response = validate(api_client, token_pair_issue(user=user).access, service_token("users:read"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


@pytest.mark.parametrize("authorization", ["", "Bearer nonsense", "Basic Zm9vOmJhcg=="])
def test_no_or_bad_service_token_gets_401(api_client, user, authorization):
    response = validate(api_client, token_pair_issue(user=user).access, authorization)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_a_user_token_is_not_a_service_credential(api_client, user):
    access = token_pair_issue(user=user).access
    assert validate(api_client, access, f"Bearer {access}").status_code == 401


def test_missing_token_and_malformed_json_are_400(api_client, service_token):
    auth = service_token("tokens:validate")
    assert api_client.post(URL, {}, format="json", HTTP_AUTHORIZATION=auth).status_code == 400
    response = api_client.post(URL, data="{oops", content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"


def test_the_in_process_provider_answers_the_same(user):
    pair = token_pair_issue(user=user)
    answer = identity_port().validate_token(token=pair.access).to_wire()
    assert answer["valid"] is True and answer["user"]["id"] == str(user.id)
    result = validate_token_cached(token=pair.access)
    assert (result.valid, result.user_id, result.email, result.commerce_roles) == (
        True, str(user.id), user.email, ("purchaser",))


def test_zero_queries_with_a_warm_cache(user, django_assert_num_queries):
    pair = token_pair_issue(user=user)
    identity_port().validate_token(token=pair.access).to_wire()  # a miss: one read, then cached
    with django_assert_num_queries(0):
        for _ in range(3):
            assert identity_port().validate_token(token=pair.access).to_wire()["valid"] is True
    family_revoke(family_id=pair.family_id, reason="logout")
    with django_assert_num_queries(0):
        assert identity_port().validate_token(token=pair.access).to_wire()["error"]["code"] == "REVOKED_TOKEN"


def test_zero_queries_over_http_with_a_warm_cache(api_client, user, service_token, django_assert_num_queries):
    pair, auth = token_pair_issue(user=user), service_token("tokens:validate")
    validate(api_client, pair.access, auth)
    with django_assert_num_queries(0):
        assert validate(api_client, pair.access, auth).json()["valid"] is True


def test_a_cold_cache_costs_a_bounded_number_of_queries(user, django_assert_max_num_queries, empty_cache):
    pair = token_pair_issue(user=user)
    empty_cache()
    with django_assert_max_num_queries(1):  # the family joined to its user and roles
        assert identity_port().validate_token(token=pair.access).to_wire()["valid"] is True


def test_role_changes_reach_validation_at_once(user):
    pair = token_pair_issue(user=user)
    assert identity_port().validate_token(token=pair.access).to_wire()["user"]["commerceRoles"] == ["purchaser"]
    role_grant(user_id=user.pk, role=Role.PAYEE, reason="instructor with a revenue share", actor="system:tests")
    answer = identity_port().validate_token(token=pair.access).to_wire()
    assert answer["user"]["commerceRoles"] == ["purchaser", "payee"]


def test_an_email_change_reaches_validation_at_once(user):
    pair = token_pair_issue(user=user)
    identity_port().validate_token(token=pair.access).to_wire()
    user.email = "renamed@example.com"
    user.save()
    assert identity_port().validate_token(token=pair.access).to_wire()["user"]["email"] == "renamed@example.com"
