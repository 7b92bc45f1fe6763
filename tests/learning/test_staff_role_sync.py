"""billing-admin on the LMS -> commerce-admin at the store: a membership granted or removed (page or API) writes
``lms.staff_role_changed`` to the outbox, which revenue's billing_admin_role_sync acts on."""

import pytest
from django.utils import timezone

from integration import registry
from integration.contracts import EnrollmentLifecycleAnswer
from integration.models import OutboxMessage
from integration.outbox import outbox_deliver_now
from integration.topics import Topic
from learning.models import Membership
from tests.learning.conftest import lms_login
from tests.learning.factories import LmsUserFactory, MembershipFactory, department
from tests.learning.test_api_learning import _client

pytestmark = pytest.mark.django_db


def _sent():
    return [m.payload for m in OutboxMessage.objects.filter(topic=Topic.STAFF_ROLE_CHANGED).order_by("pk")]


@pytest.fixture
def mapping_on(settings):
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True


def test_the_page_and_the_api_send_the_change_and_holds_role_counts_every_department(client, mapping_on):
    web, data = department("Web"), department("Data")
    person = LmsUserFactory(email="billing@example.com", commerce_user_id="cu-billing")
    lms_login(client, MembershipFactory(department=web, role="department-admin").user)
    assert client.post(f"/lms/admin/departments/{web.pk}/memberships/",
                       {"email": person.email, "role": "billing-admin"}).status_code == 302
    api = _client(MembershipFactory(department=data, role="department-admin").user)
    added = api.post(f"/api/v2/departments/{data.pk}/memberships/", {"email": person.email, "role": "billing-admin"},
                     format="json")
    assert added.status_code == 201
    assert [(m["event"], m["departmentId"], m["holdsRole"]) for m in _sent()] == [
        ("membership.granted", str(web.pk), True), ("membership.granted", str(data.pk), True)]
    assert _sent()[0]["commerceUserId"] == "cu-billing" and _sent()[0]["role"] == "billing-admin"
    web_membership = Membership.objects.get(user=person, department=web)
    assert client.post(f"/lms/admin/departments/{web.pk}/memberships/",
                       {"remove": str(web_membership.pk)}).status_code == 302
    assert _sent()[-1]["event"] == "membership.revoked" and _sent()[-1]["holdsRole"] is True  # still in Data
    assert api.delete(f"/api/v2/memberships/{added.json()['id']}/").status_code == 204
    assert _sent()[-1]["event"] == "membership.revoked" and _sent()[-1]["holdsRole"] is False
    assert len(_sent()) == 4


def test_other_roles_the_mapping_off_or_no_commerce_id_send_nothing(client, settings):
    web = department("Web")
    lms_login(client, MembershipFactory(department=web, role="department-admin").user)
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = False
    client.post(f"/lms/admin/departments/{web.pk}/memberships/",
                {"email": LmsUserFactory(commerce_user_id="cu-1").email, "role": "billing-admin"})
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True
    client.post(f"/lms/admin/departments/{web.pk}/memberships/",
                {"email": LmsUserFactory(commerce_user_id="cu-2").email, "role": "instructor"})
    client.post(f"/lms/admin/departments/{web.pk}/memberships/",
                {"email": LmsUserFactory(commerce_user_id=None).email, "role": "billing-admin"})
    assert Membership.objects.filter(role="billing-admin").count() == 2 and _sent() == []


def test_delivered_to_billing_admin_role_sync_it_asks_identity_for_commerce_admin(client, mapping_on, monkeypatch):
    """End to end through the outbox to billing_admin_role_sync (revenue's own handler when registered, else this
    stand-in that does what it does)."""
    from revenue import remote as revenue_remote
    from revenue.services.roles import billing_admin_role_sync

    monkeypatch.setattr(revenue_remote, "commerce_roles_of", lambda **_: [])
    monkeypatch.setattr(revenue_remote, "lms_user_id_of", lambda **_: None)

    def handler(message, *, delivery):
        billing_admin_role_sync(commerce_user_id=message.commerce_user_id, is_billing_admin=message.holds_role,
                                now=message.changed_at)
        return EnrollmentLifecycleAnswer(success=True)

    if not registry.has_handler(Topic.STAFF_ROLE_CHANGED):
        registry.register_handler(Topic.STAFF_ROLE_CHANGED, handler)
    web = department("Web")
    person = LmsUserFactory(commerce_user_id="cu-billing")
    from learning.services.memberships import membership_grant, membership_revoke

    membership = membership_grant(user=person, department=web, role="billing-admin", granted_by=None,
                                  now=timezone.now())
    membership_revoke(membership=membership)
    for message in OutboxMessage.objects.filter(topic=Topic.STAFF_ROLE_CHANGED).order_by("pk"):
        assert outbox_deliver_now(message_id=message.message_id).status == "delivered"
    asked = [(m.topic, m.payload["role"]) for m in OutboxMessage.objects.filter(
        topic__in=[Topic.ROLE_GRANT, Topic.ROLE_REVOKE]).order_by("pk")]
    assert asked == [(Topic.ROLE_GRANT, "commerce-admin"), (Topic.ROLE_REVOKE, "commerce-admin")]
