"""Spec 4.3 in the monolith: a revenue share grants ``payee`` in identity, losing the last one revokes it."""

import pytest

from identity.selectors import user_roles
from integration.models import OutboxMessage
from integration.topics import Topic
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db(transaction=True)


def _roles(user) -> set[str]:
    return set(user_roles(user_id=user.pk))


def test_a_share_grants_payee_through_identity_and_removing_the_last_share_revokes_it(people):
    instructor, creator = people["instructor"], people["creator"]
    assert "payee" not in _roles(instructor) | _roles(creator)

    config_set(instructor_email="teach@example.com", effective="2026-01-01")
    assert "payee" in _roles(instructor) and "payee" in _roles(creator)
    assert set(OutboxMessage.objects.filter(topic=Topic.ROLE_GRANT).values_list("status", flat=True)) == {
        OutboxMessage.Status.DELIVERED}

    # The creator keeps a share on another course; the instructor's only share goes.
    config_set(external_id="course-2", creator_email="make@example.com")
    config_set(effective="2026-03-01", instructor="0", creator="0.5", platform="0.5",
               creator_email="refer@example.com")
    assert "payee" not in _roles(instructor)
    assert "payee" in _roles(creator) and "payee" in _roles(people["affiliate"])
    assert OutboxMessage.objects.get(topic=Topic.ROLE_REVOKE).status == OutboxMessage.Status.DELIVERED


def test_a_payee_made_by_hand_keeps_the_role_when_a_share_goes(people):
    from identity.services.roles import role_grant

    other = people["other"]
    role_grant(user_id=other.pk, role="payee", reason="made by hand", actor="system:tests")
    config_set(creator_email="other@example.com")
    config_set(effective="2026-03-01", creator_email="make@example.com")
    assert "payee" in _roles(other)
