"""The demo accounts of shared/API.md, made by the ``seed.identity`` provider that ``seed_demo`` calls."""

import io

import pytest
from allauth.account.models import EmailAddress

from identity.models import ServiceClient, User
from identity.selectors import user_roles
from integration import registry

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    registry.get_provider("seed.identity")(stdout=out)
    return out.getvalue()


def test_the_demo_accounts_are_made_once(settings):
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "", ""
    first = seed()
    seed()
    assert User.objects.count() == 5
    expected = {
        "admin@example.com": ["purchaser", "commerce-admin"],
        "instructor@example.com": ["purchaser", "payee"],
        "creator@example.com": ["purchaser", "payee"],
        "learner@example.com": ["purchaser"],
        "platform@example.com": ["purchaser", "payee"],
    }
    for email, roles in expected.items():
        user = User.objects.get(email=email)
        assert user_roles(user_id=user.pk) == roles
        assert EmailAddress.objects.get(user=user).verified
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.check_password("demo-pass-123")
    assert not User.objects.get(email="platform@example.com").has_usable_password()
    assert "admin@example.com / demo-pass-123" in first
    assert not ServiceClient.objects.exists()


def test_the_service_client_is_made_when_configured(settings, api_client):
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "lms-service", "demo-service-secret-1"
    seed()
    seed()
    client = ServiceClient.objects.get()
    assert client.client_id == "lms-service" and "tokens:validate" in client.scopes
    response = api_client.post("/api/v2/auth/service-token", {
        "clientId": "lms-service", "clientSecret": "demo-service-secret-1", "scope": ["roles:write"]}, format="json")
    assert response.status_code == 200


def test_the_demo_admin_can_sign_in_and_use_the_admin(client, settings):
    settings.SERVICE_CLIENT_ID = ""
    seed()
    assert client.post("/account/login/", {"login": "admin@example.com", "password": "demo-pass-123"}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_demo_opens_the_sso_bridge_once_and_never_moves_a_later_phase():
    from identity.selectors import identity_phase_get
    from identity.services.phases import identity_phase_set

    seed()
    assert identity_phase_get() == 2
    identity_phase_set(phase=1, reason="operator went back", actor="test")
    identity_phase_set(phase=2, reason="and forward", actor="test")
    seed()
    assert identity_phase_get() == 2
