"""Spec 6.1.4: granting and revoking Commerce roles, by service token or commerce-admin, audited."""

import pytest
from django.db import DatabaseError, transaction

from identity.models import RoleAuditLog, UserRole
from identity.services.tokens import token_pair_issue
from integration import registry
from integration.registry import Delivery
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def grant(api_client, user, authorization, role="payee", **extra):
    body = {"role": role, "reason": "instructor on a course with a revenue share", **extra}
    return api_client.post(f"/api/v1/users/{user.id}/roles", body, format="json", HTTP_AUTHORIZATION=authorization)


def test_a_service_token_with_roles_write_grants_payee(api_client, user, service_token):
    response = grant(api_client, user, service_token("roles:write"),
                     metadata={"lmsUserId": "lms-7", "courseIds": ["course-1"]})

    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "user": {"id": str(user.id),
                                                         "commerceRoles": ["purchaser", "payee"]}}
    audit = RoleAuditLog.objects.get()
    assert (audit.user_id, audit.role, audit.action, audit.actor, audit.changed) == (
        user.id, "payee", "grant", "service:lms-service", True)
    assert audit.reason == "instructor on a course with a revenue share"
    assert audit.metadata == {"lmsUserId": "lms-7", "courseIds": ["course-1"]}


def test_granting_twice_is_idempotent_and_both_requests_are_audited(api_client, user, service_token):
    auth = service_token("roles:write")
    first, second = grant(api_client, user, auth), grant(api_client, user, auth)
    assert first.json() == second.json()
    assert UserRole.objects.filter(user=user).count() == 1
    assert list(RoleAuditLog.objects.order_by("id").values_list("changed", flat=True)) == [True, False]


def test_revoke_by_service_token_with_the_reason_in_the_body_or_the_query(api_client, user, service_token):
    auth = service_token("roles:write")
    grant(api_client, user, auth)
    response = api_client.delete(f"/api/v1/users/{user.id}/roles/payee", {"reason": "no more revenue share"},
                                 format="json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert response.json()["user"]["commerceRoles"] == ["purchaser"]
    again = api_client.delete(f"/api/v1/users/{user.id}/roles/payee?reason=cleanup", HTTP_AUTHORIZATION=auth)
    assert again.status_code == 200
    revokes = RoleAuditLog.objects.filter(action="revoke").order_by("id")
    assert [(r.reason, r.changed) for r in revokes] == [("no more revenue share", True), ("cleanup", False)]


def test_revoke_without_a_reason_is_400(api_client, user, service_token):
    response = api_client.delete(f"/api/v1/users/{user.id}/roles/payee",
                                 HTTP_AUTHORIZATION=service_token("roles:write"))
    assert response.status_code == 400
    assert RoleAuditLog.objects.count() == 0


def test_a_commerce_admin_may_grant_and_revoke(api_client, user, commerce_admin):
    auth = f"Bearer {token_pair_issue(user=commerce_admin).access}"
    assert grant(api_client, user, auth).status_code == 200
    assert grant(api_client, user, auth, role="commerce-admin").status_code == 200
    assert RoleAuditLog.objects.filter(actor=str(commerce_admin.id)).count() == 2
    response = api_client.delete(f"/api/v1/users/{user.id}/roles/commerce-admin?reason=left", HTTP_AUTHORIZATION=auth)
    assert response.json()["user"]["commerceRoles"] == ["purchaser", "payee"]


def test_a_purchaser_gets_403_and_nothing_changes(api_client, user):
    someone = UserFactory()
    response = grant(api_client, user, f"Bearer {token_pair_issue(user=someone).access}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not UserRole.objects.exists() and not RoleAuditLog.objects.exists()


def test_a_payee_cannot_make_themselves_commerce_admin(api_client, user):
    UserRole.objects.create(user=user, role="payee", granted_by="system:tests")
    response = grant(api_client, user, f"Bearer {token_pair_issue(user=user).access}", role="commerce-admin")
    assert response.status_code == 403


def test_a_service_token_without_roles_write_gets_insufficient_scope(api_client, user, service_token):
    response = grant(api_client, user, service_token("tokens:validate"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert not RoleAuditLog.objects.exists()


def test_no_credentials_is_401(api_client, user):
    assert grant(api_client, user, "").status_code == 401


def test_commerce_admin_by_service_only_when_the_mapping_is_on(api_client, user, service_token, settings):
    auth = service_token("roles:write")
    refused = grant(api_client, user, auth, role="commerce-admin")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_not_grantable"
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True
    assert grant(api_client, user, auth, role="commerce-admin").json()["user"]["commerceRoles"] == [
        "purchaser", "commerce-admin"]


@pytest.mark.parametrize("role", ["purchaser", "god", ""])
def test_unknown_or_implicit_roles_are_400(api_client, user, service_token, role):
    response = grant(api_client, user, service_token("roles:write"), role=role)
    assert response.status_code == 400
    revoke = api_client.delete(f"/api/v1/users/{user.id}/roles/purchaser?reason=x",
                               HTTP_AUTHORIZATION=service_token("roles:write"))
    assert revoke.status_code == 400 and revoke.json()["error"]["code"] == "invalid_role"


@pytest.mark.parametrize("user_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_user_is_404(api_client, service_token, user_id):
    response = api_client.post(f"/api/v1/users/{user_id}/roles", {"role": "payee", "reason": "x"}, format="json",
                               HTTP_AUTHORIZATION=service_token("roles:write"))
    assert response.status_code == 404 and response.json()["error"]["code"] == "user_not_found"


def test_the_outbox_topics_call_the_same_service(user):
    delivery = Delivery(idempotency_key="k-1", source_service="lms")
    answer = registry.get_handler("identity.role_grant")(
        {"userId": str(user.id), "role": "payee", "reason": "assigned", "metadata": {"lmsUserId": "l-1"}},
        delivery=delivery)
    assert answer == {"success": True, "user": {"id": str(user.id), "commerceRoles": ["purchaser", "payee"]}}
    answer = registry.get_handler("identity.role_revoke")(
        {"userId": str(user.id), "role": "payee", "reason": "unassigned"}, delivery=delivery)
    assert answer["user"]["commerceRoles"] == ["purchaser"]
    assert set(RoleAuditLog.objects.values_list("actor", flat=True)) == {"service:lms"}


def test_the_role_grant_message_goes_through_the_integration_receiver(user):
    from integration.receiving import message_receive

    result = message_receive(topic="identity.role_grant", delivery=Delivery(idempotency_key="k-2", source_service="lms"),
                             payload={"userId": str(user.id), "role": "payee", "reason": "assigned"})
    assert UserRole.objects.filter(user=user, role="payee").exists()
    assert result is not None


@pytest.mark.postgres
def test_the_audit_log_is_append_only_in_postgresql(user):
    from identity.services.roles import role_grant

    role_grant(user_id=user.pk, role="payee", reason="x", actor="system:tests")
    row = RoleAuditLog.objects.get()
    with pytest.raises(DatabaseError), transaction.atomic():
        RoleAuditLog.objects.filter(pk=row.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        RoleAuditLog.objects.filter(pk=row.pk).delete()


def test_the_ports_user_get_answers_email_and_roles_in_their_order_in_one_query(django_assert_num_queries):
    from identity.models import Role
    from identity.providers import LocalIdentity
    from integration.errors import ApplicationError

    user, plain, gone = UserFactory(), UserFactory(), UserFactory(is_active=False)
    for role in (Role.COMMERCE_ADMIN, Role.PAYEE):
        UserRole.objects.create(user=user, role=role, granted_by="system:tests")
    with django_assert_num_queries(1):
        ref = LocalIdentity().user_get(user_id=str(user.pk))
    assert (ref.id, ref.email) == (str(user.pk), user.email)
    assert ref.commerce_roles == ("purchaser", "payee", "commerce-admin")
    assert LocalIdentity().user_get(user_id=str(plain.pk)).commerce_roles == ("purchaser",)
    for missing in (str(gone.pk), "not-a-uuid"):
        with pytest.raises(ApplicationError) as refused:
            LocalIdentity().user_get(user_id=missing)
        assert refused.value.code == "user_not_found"
