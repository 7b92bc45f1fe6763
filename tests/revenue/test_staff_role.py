"""``lms.staff_role_changed`` received by revenue: billing-admin on the LMS -> commerce-admin asked of identity."""

import pytest

from integration import registry
from integration.topics import Topic
from revenue.models import ErasedAccount, RoleMapping
from tests.revenue.conftest import NOW, messages

pytestmark = pytest.mark.django_db


def _changed(commerce_user_id: str, *, holds: bool, key: str, event: str = "membership.granted") -> dict:
    handler = registry.get_handler(Topic.STAFF_ROLE_CHANGED)
    payload = {"source": "lms", "idempotencyKey": key, "event": event, "lmsUserId": "lms-1",
               "commerceUserId": commerce_user_id, "departmentId": "dep-1", "role": "billing-admin",
               "holdsRole": holds, "changedAt": NOW}
    return handler(payload, delivery=registry.Delivery(idempotency_key=key, source_service="lms"))


def _asked() -> list[tuple[str, str]]:
    return [(m["userId"], m["role"]) for m in messages(Topic.ROLE_GRANT)] + [
        ("revoke:" + m["userId"], m["role"]) for m in messages(Topic.ROLE_REVOKE)]


def test_a_billing_admin_is_granted_commerce_admin_once_and_the_last_removal_revokes_it(people, settings):
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True
    user_id = str(people["other"].pk)
    assert _changed(user_id, holds=True, key="k1") == {"success": True, "status": "changed"}
    assert _changed(user_id, holds=True, key="k2") == {"success": True, "status": "unchanged"}  # a 2nd department
    assert _changed(user_id, holds=True, key="k3", event="membership.revoked")["status"] == "unchanged"  # still one
    assert _asked() == [(user_id, "commerce-admin")]
    assert _changed(user_id, holds=False, key="k4", event="membership.revoked")["status"] == "changed"
    assert _asked() == [(user_id, "commerce-admin"), ("revoke:" + user_id, "commerce-admin")]
    assert not RoleMapping.objects.get(commerce_user_id=user_id, role="commerce-admin").granted


def test_with_the_mapping_off_or_for_an_erased_account_nothing_is_asked(people, settings):
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = False
    assert _changed(str(people["other"].pk), holds=True, key="k1")["status"] == "unchanged"
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True
    ErasedAccount.objects.create(commerce_user_id=str(people["creator"].pk), erased_at=NOW, received_at=NOW)
    assert _changed(str(people["creator"].pk), holds=True, key="k2")["status"] == "ignored"
    assert _asked() == []
