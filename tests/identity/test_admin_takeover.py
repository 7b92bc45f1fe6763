"""Issue 8, item 1: a commerce-admin who is not a superuser cannot take over the superuser account.

The review's path, step by step: read the superuser's TOTP secret on the Authenticator page, add a
verified EmailAddress to the superuser, reset the password to it; plus the side doors: an all-scope
service client, a periodic task running any task, the Sites row. Each step is refused here.
"""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from identity.models import Role, UserRole
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    admin = UserFactory(is_superuser=True, is_staff=True, verified=True)
    admin.totp_secret = generate_totp_secret()
    TOTP.activate(admin, admin.totp_secret)
    return admin


@pytest.fixture
def commerce_admin_client(client, commerce_admin):
    client.force_login(commerce_admin)
    return client


@pytest.mark.parametrize("path", [
    "/admin/mfa/authenticator/",
    "/admin/account/emailaddress/", "/admin/account/emailaddress/add/",
    "/admin/sites/site/", "/admin/sites/site/1/change/",
    "/admin/django_celery_beat/periodictask/", "/admin/django_celery_beat/periodictask/add/",
    "/admin/identity/serviceclient/", "/admin/identity/serviceclient/add/",
    "/admin/identity/serviceclientauditlog/", "/admin/identity/tokenfamily/",
    "/admin/auth/group/",
])
def test_a_commerce_admin_cannot_open_authentication_pages(commerce_admin_client, path):
    assert commerce_admin_client.get(path).status_code == 403


def test_step_one_the_superusers_totp_secret_is_not_shown_or_stored_in_clear(commerce_admin_client, client,
                                                                             superuser):
    authenticator = Authenticator.objects.get(user=superuser, type="totp")
    assert commerce_admin_client.get(f"/admin/mfa/authenticator/{authenticator.pk}/change/").status_code == 403
    stored = Authenticator.objects.get(pk=authenticator.pk).data["secret"]
    assert stored.startswith("fernet:") and superuser.totp_secret not in stored
    assert TOTP(authenticator).validate_code("000000") in (True, False)  # decrypts (no error)
    client.force_login(superuser)
    page = client.get(f"/admin/mfa/authenticator/{authenticator.pk}/change/").content.decode()
    assert superuser.totp_secret not in page and stored not in page


def test_step_two_no_email_address_can_be_added_to_the_superuser(commerce_admin_client, superuser):
    response = commerce_admin_client.post("/admin/account/emailaddress/add/", {
        "user": superuser.pk, "email": "attacker@example.com", "verified": "on", "primary": "on"})
    assert response.status_code == 403
    assert not superuser.emailaddress_set.filter(email="attacker@example.com").exists()


def test_step_three_superuser_and_staff_accounts_cannot_be_changed(commerce_admin_client, superuser):
    staff = UserFactory(is_staff=True)
    for target in (superuser, staff):
        page = commerce_admin_client.get(f"/admin/identity/user/{target.pk}/change/")
        assert b'name="_save"' not in page.content
        response = commerce_admin_client.post(f"/admin/identity/user/{target.pk}/change/", {"is_active": ""})
        assert response.status_code == 403
        target.refresh_from_db()
        assert target.is_active


def test_staff_and_superuser_roles_are_changed_by_superusers_only(commerce_admin_client, superuser):
    response = commerce_admin_client.post("/admin/identity/userrole/add/", {
        "user": superuser.pk, "role": "payee", "reason": "a try"})
    assert response.status_code == 200 and not UserRole.objects.filter(user=superuser, role="payee").exists()
    commerce_admin_client.post("/admin/identity/user/", {"action": "grant_payee", "_selected_action": [superuser.pk]})
    assert not UserRole.objects.filter(user=superuser, role="payee").exists()
    role = UserRole.objects.create(user=superuser, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    assert commerce_admin_client.post(f"/admin/identity/userrole/{role.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_commerce_admin_still_manages_people_and_roles(commerce_admin_client):
    person = UserFactory()
    assert commerce_admin_client.get(f"/admin/identity/user/{person.pk}/change/").status_code == 200
    commerce_admin_client.post("/admin/identity/user/", {"action": "grant_payee", "_selected_action": [person.pk]})
    assert UserRole.objects.filter(user=person, role="payee").exists()
    assert commerce_admin_client.get("/admin/integration/").status_code == 200


def test_unused_third_party_models_are_hidden_and_the_admin_is_branded(client, superuser, settings):
    client.force_login(superuser)
    page = client.get("/admin/").content.decode()
    for hidden in ("/admin/socialaccount/", "/admin/authtoken/", "/admin/token_blacklist/"):
        assert hidden not in page
    assert settings.SITE_NAME in page
