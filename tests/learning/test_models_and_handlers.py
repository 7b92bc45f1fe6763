"""Database constraints, the erasure handler, and what the app registers with integration."""

import uuid

import pytest
from django.db import IntegrityError, transaction

from integration import registry
from learning.models import LegacyCredential, LegacyHashBackup, LmsUser
from tests.learning.factories import (
    LegacyCredentialFactory,
    LegacyHashBackupFactory,
    LegacyUserFactory,
    LmsUserFactory,
)

pytestmark = pytest.mark.django_db


def test_commerce_user_id_is_unique_and_never_blank():
    LmsUserFactory(commerce_user_id="c-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LmsUserFactory(commerce_user_id="c-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        LmsUserFactory(commerce_user_id="")
    LmsUserFactory(commerce_user_id=None)
    LmsUserFactory(commerce_user_id=None)  # many legacy accounts are not linked yet
    assert LmsUser.objects.filter(commerce_user_id__isnull=True).count() == 2


def test_one_legacy_credential_per_user_but_emails_may_repeat():
    user = LegacyUserFactory(email="same@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        LegacyCredentialFactory(lms_user=user)
    LegacyUserFactory(email="SAME@example.com")  # reportable duplicate, not refused
    assert LegacyCredential.objects.count() == 2


def test_a_backup_cannot_be_restored_before_it_was_taken():
    backup = LegacyHashBackupFactory()
    backup.restored_at = backup.backed_up_at.replace(year=2000)
    with pytest.raises(IntegrityError), transaction.atomic():
        backup.save()


def _erase(commerce_user_id: str, key: str = "erase-1") -> dict:
    handler = registry.get_handler("identity.user_erased")
    delivery = registry.Delivery(idempotency_key=key, source_service="commerce")
    return handler({"idempotencyKey": key, "commerceUserId": commerce_user_id,
                    "erasedAt": "2026-01-01T00:00:00Z"}, delivery=delivery)


def test_user_erased_anonymises_the_lms_user_and_drops_legacy_data():
    user = LegacyUserFactory(commerce_user_id="c-erase", email="private@example.com")
    LegacyHashBackupFactory(lms_user=user)
    other = LegacyUserFactory()

    assert _erase("c-erase") == {"success": True}

    user.refresh_from_db()
    assert (user.email, user.is_active, user.commerce_user_id) == (f"erased-{user.id}@invalid", False, "c-erase")
    assert not LegacyCredential.objects.filter(lms_user=user).exists()
    assert not LegacyHashBackup.objects.filter(lms_user=user).exists()
    assert LegacyCredential.objects.filter(lms_user=other).exists()

    assert _erase("c-erase", key="erase-2") == {"success": True}  # idempotent
    user.refresh_from_db()
    assert user.email == f"erased-{user.id}@invalid" and not user.is_active
    assert LmsUser.objects.count() == 2


def test_user_erased_for_someone_the_lms_never_saw_succeeds():
    assert _erase(str(uuid.uuid4())) == {"success": True}


def test_user_erased_arrives_through_integrations_receiving_path():
    from integration.receiving import message_receive

    user = LegacyUserFactory(commerce_user_id="c-wire")
    payload = {"idempotencyKey": "erase-wire-1", "commerceUserId": "c-wire", "erasedAt": "2026-01-01T00:00:00Z"}
    delivery = registry.Delivery(idempotency_key="erase-wire-1", source_service="commerce", transport="http")
    message_receive(topic="identity.user_erased", payload=payload, delivery=delivery)
    message_receive(topic="identity.user_erased", payload=payload, delivery=delivery)  # a retry
    user.refresh_from_db()
    assert not user.is_active and user.email.startswith("erased-")
    assert not LegacyCredential.objects.filter(lms_user=user).exists()


def test_the_app_registers_its_port_and_handler():
    from integration.ports.base import implementation_of
    from integration.ports.learning import LearningPort
    from learning.providers import LocalLearning

    assert isinstance(implementation_of(LearningPort), LocalLearning)
    assert registry.has_handler("identity.user_erased")
