"""An erased account on the LMS side: its emails leave revenue's records, its shares and earnings stay."""

from datetime import timedelta
from decimal import Decimal

import pytest

from integration import registry
from integration.topics import Topic
from revenue.models import ErasedAccount, RevenueConfig, RevenueShare, RoleMapping
from revenue.services.erasure import erased_email
from revenue.services.lifecycle import lifecycle_event_record
from revenue.services.roles import payee_roles_sync
from tests.revenue.conftest import NOW, activated, messages, revenue_events
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db


def _erase(commerce_user_id: str, key: str = "erase-1") -> dict:
    """The topic's handler as both transports call it: learning answers, revenue's extra handler follows."""
    handler = registry.get_handler(Topic.USER_ERASED)
    return handler({"idempotencyKey": key, "commerceUserId": commerce_user_id, "erasedAt": NOW.isoformat()},
                   delivery=registry.Delivery(idempotency_key=key, source_service="commerce"))


def _sell(now=NOW) -> dict:
    payload = activated(activated_at=now)
    lifecycle_event_record(idempotency_key=f"act:{payload['enrollmentId']}", event="enrollment.activated",
                           payload=payload, now=now)
    return payload


def _by_reason(event: dict) -> dict:
    return {split["reason"]: split for split in event["splits"]}


def test_erasure_removes_the_persons_emails_and_keeps_their_shares(people):
    creator = str(people["creator"].pk)
    config = config_set(instructor_email="teach@example.com")
    RevenueConfig.objects.filter(pk=config.pk).update(changed_by_email="Make@Example.com")
    other = config_set(external_id="course-2", creator_email="refer@example.com")
    RevenueConfig.objects.filter(pk=other.pk).update(changed_by_email="teach@example.com")
    _sell()
    shares_before = list(RevenueShare.objects.order_by("id").values_list("payee_commerce_user_id", "amount", "status"))
    sent_before = len(messages(Topic.ROLE_GRANT)) + len(messages(Topic.ROLE_REVOKE))

    assert _erase(creator) == {"success": True}  # learning's answer is the topic's answer

    config.refresh_from_db()
    assert (config.creator_email, config.creator_commerce_user_id, config.creator_bps) == (
        erased_email(creator), creator, 4000)
    assert config.instructor_email == "teach@example.com" and config.changed_by_email == ""
    assert RevenueConfig.objects.get(pk=other.pk).changed_by_email == "teach@example.com"  # someone else's
    mapping = RoleMapping.objects.get(commerce_user_id=creator, role="payee")
    assert (mapping.email, mapping.granted) == ("", False)  # identity dropped the account's roles itself
    assert list(RevenueShare.objects.order_by("id").values_list(
        "payee_commerce_user_id", "amount", "status")) == shares_before
    assert ErasedAccount.objects.filter(commerce_user_id=creator).exists()
    # Nowhere in revenue's records any more, and no role message about an erased account.
    assert not RevenueConfig.objects.filter(creator_email__iexact="make@example.com").exists()
    assert not RevenueConfig.objects.filter(changed_by_email__iexact="make@example.com").exists()
    assert not RoleMapping.objects.filter(email__iexact="make@example.com").exists()
    assert len(messages(Topic.ROLE_GRANT)) + len(messages(Topic.ROLE_REVOKE)) == sent_before


def test_after_erasure_a_new_sale_gives_the_erased_share_to_the_platform(people):
    creator = str(people["creator"].pk)
    config_set(instructor_email="teach@example.com")
    _sell()
    _erase(creator)
    _sell(now=NOW + timedelta(days=1))

    before, after = revenue_events()
    assert _by_reason(before)["creator_share"]["payeeUserId"] == creator
    splits = _by_reason(after)
    assert "creator_share" not in splits
    assert {s["payeeUserId"] for s in after["splits"]} == {str(people["instructor"].pk),
                                                           splits["platform_fee"]["payeeUserId"]}
    assert Decimal(splits["platform_fee"]["amount"]) == Decimal(after["totalAmount"]) - Decimal(
        splits["instructor_share"]["amount"])
    assert "creator" in splits["platform_fee"]["description"]



def test_an_erased_instructor_the_lms_names_gets_no_share_of_a_later_sale(people):
    instructor = str(people["instructor"].pk)
    config_set()  # the config names no instructor: the activation's instructorCommerceUserId does
    _erase(instructor)
    payload = activated(instructor=instructor)
    lifecycle_event_record(idempotency_key=f"act:{payload['enrollmentId']}", event="enrollment.activated",
                           payload=payload, now=NOW)
    [event] = revenue_events()
    splits = _by_reason(event)
    assert "instructor_share" not in splits and instructor not in {s["payeeUserId"] for s in event["splits"]}
    assert "instructor" in splits["platform_fee"]["description"]

def test_an_erased_account_is_never_granted_payee_again(people):
    creator = str(people["creator"].pk)
    config_set()
    _erase(creator)
    grants = len(messages(Topic.ROLE_GRANT))
    assert payee_roles_sync(commerce_user_ids={creator}, now=NOW) == {}
    assert len(messages(Topic.ROLE_GRANT)) == grants and not messages(Topic.ROLE_REVOKE)


def test_erasing_twice_or_someone_revenue_never_saw_changes_nothing(people):
    creator = str(people["creator"].pk)
    config = config_set()
    _erase(creator)
    _erase(creator, key="erase-2")
    config.refresh_from_db()
    assert config.creator_email == erased_email(creator)
    assert ErasedAccount.objects.count() == 1
    assert _erase("c-never-seen", key="erase-3") == {"success": True}
    assert RevenueConfig.objects.get(pk=config.pk).creator_email == erased_email(creator)


@pytest.mark.django_db(transaction=True)
def test_in_the_monolith_erasing_the_account_reaches_revenue_and_payouts(people):
    """identity erases, the outbox delivers after commit: learning answers, revenue and payouts erase their part."""
    from identity.services.accounts import user_erase
    from integration.models import OutboxMessage
    from payouts.models import PayoutAccount, TaxInfo
    from payouts.services.settings import payout_account_set, tax_info_set

    creator = str(people["creator"].pk)
    config = config_set()
    payout_account_set(payee_user_id=creator, method="stripe_connect", stripe_account_id="acct_1Creator", now=NOW)
    tax_info_set(payee_user_id=creator, legal_name="Maker", country="US", tax_id="123-45-6789", form="w9", now=NOW)

    user_erase(user_id=creator, actor="system:tests")

    assert OutboxMessage.objects.get(topic=Topic.USER_ERASED).status == OutboxMessage.Status.DELIVERED
    assert RevenueConfig.objects.get(pk=config.pk).creator_email == erased_email(creator)
    assert ErasedAccount.objects.filter(commerce_user_id=creator).exists()
    assert not PayoutAccount.objects.filter(payee_user_id=creator).exists()
    assert not TaxInfo.objects.filter(payee_user_id=creator).exists()
