"""The Django admin is for commerce-admins (and superusers) only; role changes there are audited."""

import pytest

from identity.models import IdentityPhaseChange, RoleAuditLog, ServiceClient, ServiceClientAuditLog, UserRole
from identity.services.tokens import token_pair_issue
from tests.identity.factories import RoleAuditLogFactory, ServiceClientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True, verified=True)

ADMIN_PAGES = ["/admin/", "/admin/identity/user/", "/admin/identity/userrole/", "/admin/identity/roleauditlog/",
               "/admin/identity/identityphase/"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_commerce_admin_can_use_the_admin(client, commerce_admin, path):
    RoleAuditLogFactory()
    ServiceClientFactory()
    client.force_login(commerce_admin)
    assert client.get(path).status_code == 200


def test_a_purchaser_or_a_payee_cannot(client):
    for role in (None, "payee"):
        person = UserFactory(is_staff=True)  # is_staff alone grants nothing
        if role:
            UserRole.objects.create(user=person, role=role, granted_by="system:tests")
        client.force_login(person)
        assert client.get("/admin/", follow=True).status_code == 403
        assert client.get("/admin/identity/user/", follow=True).status_code == 403


def test_anonymous_visitors_are_sent_to_the_sites_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.status_code == 302 and login["Location"].startswith("/account/login/?next=/admin/")


def test_a_superuser_can_use_the_admin(client):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/admin/identity/user/").status_code == 200


def test_the_user_list_searches_email_and_filters_by_role(client, commerce_admin):
    payee = UserFactory(email="teacher@example.com")
    UserRole.objects.create(user=payee, role="payee", granted_by="system:tests")
    UserFactory(email="student@example.com")
    client.force_login(commerce_admin)
    page = client.get("/admin/identity/user/", {"q": "teacher"}).content.decode()
    assert "teacher@example.com" in page and "student@example.com" not in page
    page = client.get("/admin/identity/user/", {"role": "payee"}).content.decode()
    assert "teacher@example.com" in page and "student@example.com" not in page
    page = client.get("/admin/identity/user/", {"role": "purchaser-only"}).content.decode()
    assert "student@example.com" in page and "teacher@example.com" not in page


def test_a_commerce_admin_cannot_promote_anyone_to_superuser(client, commerce_admin):
    target = UserFactory()
    client.force_login(commerce_admin)
    page = client.get(f"/admin/identity/user/{target.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="is_active"' in page
    assert client.get("/admin/auth/group/").status_code == 403


def test_granting_a_role_in_the_admin_goes_through_the_audited_service(client, commerce_admin):
    target = UserFactory()
    client.force_login(commerce_admin)
    response = client.post("/admin/identity/userrole/add/", {"user": target.pk, "role": "payee",
                                                              "reason": "manual payout setup"})
    assert response.status_code == 302, response.content[:2000]
    assert UserRole.objects.filter(user=target, role="payee").exists()
    audit = RoleAuditLog.objects.get(user_id=target.pk)
    assert (audit.actor, audit.reason) == (str(commerce_admin.pk), "manual payout setup")


def test_the_payee_action_is_audited(client, commerce_admin):
    target = UserFactory()
    client.force_login(commerce_admin)
    client.post("/admin/identity/user/", {"action": "grant_payee", "_selected_action": [target.pk]})
    assert UserRole.objects.filter(user=target, role="payee").exists()
    assert RoleAuditLog.objects.filter(user_id=target.pk, action="grant", actor=str(commerce_admin.pk)).exists()


def test_the_audit_log_is_read_only_in_the_admin(client, commerce_admin):
    row = RoleAuditLogFactory()
    client.force_login(commerce_admin)
    page = client.get(f"/admin/identity/roleauditlog/{row.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(f"/admin/identity/roleauditlog/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/identity/roleauditlog/add/").status_code == 403
    assert RoleAuditLog.objects.filter(pk=row.pk).exists()


def test_a_service_client_added_in_the_admin_goes_through_the_audited_service(client, superuser):
    client.force_login(superuser)
    response = client.post("/admin/identity/serviceclient/add/", {
        "client_id": "reporting", "description": "", "scopes": ["catalog:read"], "is_active": "on",
        "new_secret": "a-very-long-secret-1", "reason": "monthly reports"})
    assert response.status_code == 302, response.content[:3000]
    created = ServiceClient.objects.get(client_id="reporting")
    assert created.scopes == ["catalog:read"] and created.secret_hash.startswith("argon2$")
    audit = ServiceClientAuditLog.objects.get(client_id="reporting")
    assert (audit.action, audit.actor, audit.reason) == ("create", str(superuser.pk), "monthly reports")
    assert audit.changes["secretChanged"] is True and "a-very-long-secret-1" not in str(audit.changes)

    client.post(f"/admin/identity/serviceclient/{created.pk}/change/", {
        "description": "", "scopes": ["catalog:read"], "reason": "retired"})  # is_active unticked
    assert ServiceClient.objects.get(pk=created.pk).is_active is False
    assert ServiceClientAuditLog.objects.filter(client_id="reporting", action="deactivate").exists()


def test_the_phase_and_its_history_show_in_the_admin(client, commerce_admin):
    from identity.services.phases import identity_phase_set

    identity_phase_set(phase=2, reason="bridge on", actor="system:tests")
    client.force_login(commerce_admin)
    page = client.get("/admin/identity/identityphase/1/change/").content.decode()
    assert "bridge on" in page
    assert IdentityPhaseChange.objects.count() == 1


def test_revoking_a_token_family_in_the_admin(client, superuser):
    from identity.selectors import token_validate

    pair = token_pair_issue(user=UserFactory())
    client.force_login(superuser)
    client.post("/admin/identity/tokenfamily/", {"action": "revoke", "_selected_action": [pair.family_id]})
    assert token_validate(token=pair.access)["error"]["code"] == "REVOKED_TOKEN"


def _people(count: int) -> None:
    for _ in range(count):
        user = UserFactory(verified=True)
        UserRole.objects.create(user=user, role="payee", granted_by="system:tests")
        RoleAuditLogFactory(user_id=user.pk)
        token_pair_issue(user=user)


def test_the_identity_lists_cost_the_same_for_two_people_as_for_eight(client, superuser,
                                                                       django_assert_max_num_queries):
    from tests.admin_lists import assert_lists_flat

    client.force_login(superuser)
    _people(2)
    names = ["user", "userrole", "roleauditlog", "tokenfamily", "serviceclientauditlog", "lmsaccountlink"]
    assert_lists_flat(client, [f"/admin/identity/{name}/" for name in names], more=lambda: _people(6),
                      max_queries=django_assert_max_num_queries)
