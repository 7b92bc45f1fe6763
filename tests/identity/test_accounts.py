"""Personal data download, account deletion (erasure), and legacy password hashes upgraded on login."""

import json

import bcrypt
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.hashers import make_password

from identity.models import RoleAuditLog, TokenFamily, User, UserRole
from identity.selectors import token_validate
from identity.services.accounts import user_erase
from identity.services.roles import role_grant
from identity.services.tokens import token_pair_issue
from integration.models import OutboxMessage
from tests.identity.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login(api_client, email, password=PASSWORD):
    return api_client.post("/api/v1/auth/login/", {"email": email, "password": password}, format="json")


# --- data download --------------------------------------------------------------

def test_the_api_export_holds_the_users_own_data(api_client, user, bearer):
    role_grant(user_id=user.pk, role="payee", reason="teaches", actor="system:tests")
    pair = token_pair_issue(user=user)
    other = UserFactory()
    role_grant(user_id=other.pk, role="payee", reason="someone else's", actor="system:tests")

    response = api_client.get("/api/v1/auth/me/export", **bearer(pair.access))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="my-data.json"'
    data = response.json()
    assert data["user"]["id"] == str(user.id) and data["user"]["email"] == user.email
    assert data["commerceRoles"] == ["purchaser", "payee"]
    assert data["emailAddresses"] == [{"email": user.email, "verified": True, "primary": True}]
    assert [row["reason"] for row in data["roleHistory"]] == ["teaches"]
    assert [row["id"] for row in data["sessions"]] == [pair.family_id]
    assert other.email not in json.dumps(data)


def test_the_export_includes_what_other_apps_hold_through_their_ports(api_client, user, bearer):
    from integration.contracts.orders import OrdersPersonalData
    from integration.ports.base import override
    from integration.ports.orders import OrdersPort
    from orders.providers import LocalOrders

    class OneOrder(LocalOrders):
        def personal_data(self, *, user_id: str) -> OrdersPersonalData:
            return OrdersPersonalData(user_id=user_id, orders=({"orderId": "o-1"},))

    override(OrdersPort, OneOrder())
    data = api_client.get("/api/v1/auth/me/export", **bearer(token_pair_issue(user=user).access)).json()
    assert data["orders"] == {"userId": str(user.id), "orders": [{"orderId": "o-1"}]}
    assert data["payouts"]["balances"] == [] and data["lms"]["exists"] is False


def test_the_export_needs_a_signed_in_user(api_client):
    assert api_client.get("/api/v1/auth/me/export").status_code == 401


def test_the_data_page_downloads_json_by_post_only(client, user):
    client.force_login(user)
    page = client.get("/account/data/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content and b'class="site-header"' in page.content
    download = client.post("/account/data/")
    assert download.status_code == 200 and download["Content-Type"] == "application/json"
    assert json.loads(download.content)["user"]["email"] == user.email


def test_the_data_page_checks_csrf(user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert csrf_client.post("/account/data/").status_code == 403


# --- deletion ------------------------------------------------------------------------

def test_deleting_by_api_erases_personal_data_and_keeps_the_row(api_client, user, bearer, password):
    role_grant(user_id=user.pk, role="payee", reason="teaches", actor="system:tests")
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    pair, other_device = token_pair_issue(user=user), token_pair_issue(user=user)

    response = api_client.delete("/api/v1/auth/me", {"password": password}, format="json", **bearer(pair.access))

    assert response.status_code == 204
    erased = User.objects.get(pk=user.pk)  # same id: orders, ledger and audit still point here
    assert erased.email == f"erased-{user.pk}@invalid"
    assert not erased.has_usable_password() and not erased.is_active and erased.erased_at is not None
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    assert not UserRole.objects.filter(user=user).exists()
    assert RoleAuditLog.objects.filter(user_id=user.pk).count() == 2  # the grant, and its revoke by erasure
    assert not TokenFamily.objects.filter(user=user, revoked_at__isnull=True).exists()
    for access in (pair.access, other_device.access):
        assert token_validate(token=access)["error"]["code"] == "REVOKED_TOKEN"
    assert login(api_client, user.email, password).json()["error"]["code"] == "invalid_credentials"

    message = OutboxMessage.objects.get(topic="identity.user_erased")
    assert message.payload["commerceUserId"] == str(user.pk)
    assert message.payload["idempotencyKey"] == message.idempotency_key
    assert message.payload["erasedAt"].startswith(erased.erased_at.isoformat()[:19])
    assert message.aggregate_key == f"user:{user.pk}"


def test_deleting_needs_the_password(api_client, user, bearer):
    response = api_client.delete("/api/v1/auth/me", {"password": "wrong"}, format="json",
                                 **bearer(token_pair_issue(user=user).access))
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.is_active and user.erased_at is None
    assert not OutboxMessage.objects.filter(topic="identity.user_erased").exists()


def test_erasing_twice_changes_nothing_and_sends_one_message(user):
    first = user_erase(user_id=user.pk, actor="system:tests")
    second = user_erase(user_id=user.pk, actor="system:tests")
    assert not first.already_erased and second.already_erased
    assert OutboxMessage.objects.filter(topic="identity.user_erased").count() == 1


def test_the_deletion_page_asks_for_the_password_and_confirmation(client, user, password):
    client.force_login(user)
    page = client.get("/account/delete/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    unconfirmed = client.post("/account/delete/", {"password": password})
    assert unconfirmed.status_code == 200
    wrong = client.post("/account/delete/", {"password": "nope", "confirm": "on"})
    assert wrong.status_code == 200 and b"The password is incorrect." in wrong.content
    user.refresh_from_db()
    assert user.is_active

    done = client.post("/account/delete/", {"password": password, "confirm": "on"})

    assert done.status_code == 302 and done["Location"] == "/"
    user.refresh_from_db()
    assert user.erased_at is not None
    assert "_auth_user_id" not in client.session
    assert OutboxMessage.objects.filter(topic="identity.user_erased").count() == 1


# --- legacy hashes --------------------------------------------------------------------

def test_a_bcrypt_user_logs_in_and_is_upgraded_to_argon2(api_client):
    raw = bcrypt.hashpw(b"legacy-password-1", bcrypt.gensalt(4)).decode()
    legacy = UserFactory(password=f"bcrypt${raw}", verified=True)

    response = login(api_client, legacy.email, "legacy-password-1")

    assert response.status_code == 200, response.content
    legacy.refresh_from_db()
    assert legacy.password.startswith("argon2$argon2id$")
    assert login(api_client, legacy.email, "legacy-password-1").status_code == 200


def test_a_2y_bcrypt_hash_and_an_overlong_password_do_not_break_login(api_client):
    raw = bcrypt.hashpw(b"x" * 72, bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$", 1)
    from identity.services.accounts import stored_password_hash

    legacy = UserFactory(password=stored_password_hash(raw), verified=True)
    assert legacy.password.startswith("bcrypt$$2b$")
    assert login(api_client, legacy.email, "x" * 100).status_code == 200  # bcrypt reads 72 bytes, as it always did


def test_a_pbkdf2_user_is_upgraded_too(api_client):
    legacy = UserFactory(password=make_password("old-django-pass-1", hasher="pbkdf2_sha256"), verified=True)
    assert login(api_client, legacy.email, "old-django-pass-1").status_code == 200
    legacy.refresh_from_db()
    assert legacy.password.startswith("argon2$")


def test_a_wrong_password_on_a_bcrypt_user_changes_nothing(api_client):
    raw = bcrypt.hashpw(b"legacy-password-1", bcrypt.gensalt(4)).decode()
    legacy = UserFactory(password=f"bcrypt${raw}", verified=True)
    assert login(api_client, legacy.email, "wrong").status_code == 400
    legacy.refresh_from_db()
    assert legacy.password == f"bcrypt${raw}"
