"""Sale, refund, release and forfeit from enrollment lifecycle facts, in any order, at most once."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from integration.contracts import validate_message
from integration.topics import Topic
from revenue.errors import CurrencyMismatch, NoConfigAtSaleDate
from revenue.models import EnrollmentFacts, RevenueSale, RevenueShare, ShareStatus
from revenue.services.lifecycle import holds_settle_due, lifecycle_event_record
from tests.revenue.conftest import NOW, activated, messages, releases, revenue_events
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db


def record(event: str, payload: dict, *, key: str | None = None, now=NOW):
    return lifecycle_event_record(idempotency_key=key or f"{event}:{payload['enrollmentId']}", event=event,
                                  payload=payload, now=now)


def by_reason(event: dict) -> dict:
    return {split["reason"]: split for split in event["splits"]}


def test_a_purchase_emits_one_course_sale_split_on_the_net_amount(people):
    config = config_set(instructor_email="teach@example.com")
    payload = activated()
    outcome = record("enrollment.activated", payload)
    assert outcome.status == "processed"
    [event] = revenue_events()
    assert event["eventId"] == f"rev_sale_{payload['enrollmentId']}"
    assert event["type"] == "course_sale" and event["productExternalId"] == "course-1"
    assert (event["totalAmount"], event["grossAmount"], event["processorFee"]) == ("192.93", "199.00", "6.07")
    splits = by_reason(event)
    assert splits["platform_fee"]["amount"] == "57.88"
    assert splits["creator_share"]["amount"] == "77.17"
    assert splits["instructor_share"]["amount"] == "57.88"
    assert splits["instructor_share"]["payeeUserId"] == str(people["instructor"].pk)
    assert splits["platform_fee"]["payeeUserId"] == config.platform_commerce_user_id
    assert not any(split.get("hold") for split in event["splits"])
    validate_message(Topic.REVENUE_EVENTS, messages(Topic.REVENUE_EVENTS)[0])  # the contract payouts checks


def test_gross_basis_splits_the_amount_paid(people):
    config_set(instructor_email="teach@example.com", basis="gross")
    record("enrollment.activated", activated())
    [event] = revenue_events()
    assert event["totalAmount"] == "199.00"
    assert sum(Decimal(s["amount"]) for s in event["splits"]) == Decimal("199.00")


def test_the_enrollments_own_instructor_is_paid_when_the_config_names_none(people):
    config_set()
    record("enrollment.activated", activated(instructor=str(people["other"].pk)))
    assert by_reason(revenue_events()[0])["instructor_share"]["payeeUserId"] == str(people["other"].pk)
    assert [g["userId"] for g in messages(Topic.ROLE_GRANT)][-1] == str(people["other"].pk)


def test_with_no_instructor_at_all_the_share_stays_with_the_platform(people):
    config_set()
    record("enrollment.activated", activated())
    splits = by_reason(revenue_events()[0])
    assert "instructor_share" not in splits
    assert splits["platform_fee"]["amount"] == str(Decimal("192.93") - Decimal("77.17"))


def test_program_sales_use_the_programs_config(people):
    config_set(product_type="program", external_id="prog-1", creator="0.5", platform="0.2", instructor="0.3",
               instructor_email="teach@example.com")
    record("enrollment.activated", activated(product_type="program", program_id="prog-1", fee="0", amount="100.00"))
    [event] = revenue_events()
    assert event["type"] == "program_sale"
    assert by_reason(event)["creator_share"]["amount"] == "50.00"


def test_the_config_in_force_on_the_sale_date_applies_however_it_changed_since(people):
    config_set(effective="2026-01-01", creator="0.40", platform="0.30", instructor="0.30",
               instructor_email="teach@example.com")
    config_set(effective="2026-07-01", creator="0.10", platform="0.60", instructor="0.30",
               instructor_email="teach@example.com")
    record("enrollment.activated", activated(activated_at=NOW - timedelta(days=30)), now=NOW + timedelta(days=30))
    assert by_reason(revenue_events()[0])["creator_share"]["amount"] == "77.17"


def test_activations_that_are_not_purchases_emit_nothing(people):
    config_set()
    record("enrollment.activated", activated(source="manual"))
    record("enrollment.activated", activated(amount="0.00", fee="0"))
    assert revenue_events() == []


def test_a_repeated_or_replayed_activation_emits_the_sale_once(people):
    config_set()
    payload = activated()
    record("enrollment.activated", payload)
    assert record("enrollment.activated", payload).status == "duplicate"
    record("enrollment.activated", payload, key="another-delivery-key")
    assert len(revenue_events()) == 1
    assert RevenueSale.objects.count() == 1


def test_a_sale_without_a_config_is_refused_retryably_and_nothing_is_kept(people):
    payload = activated()
    with pytest.raises(NoConfigAtSaleDate) as refused:
        record("enrollment.activated", payload)
    assert refused.value.status_code == 409
    assert not EnrollmentFacts.objects.exists() and revenue_events() == []
    config_set()
    record("enrollment.activated", payload)  # the outbox's retry
    assert len(revenue_events()) == 1


def test_a_refund_mirrors_the_sale_pro_rata_with_the_original_event_id(people):
    config_set(instructor_email="teach@example.com")
    payload = activated()
    record("enrollment.activated", payload)
    record("enrollment.revoked", {**payload, "reason": "refund", "refundAmount": Decimal("99.50"), "currency": "USD"})
    sale, refund = revenue_events()
    assert refund["type"] == "refund" and refund["originalEventId"] == sale["eventId"]
    assert refund["eventId"] == f"rev_refund_{payload['enrollmentId']}"
    assert Decimal(refund["totalAmount"]) == (Decimal("192.93") * Decimal("99.50") / Decimal("199.00")).quantize(
        Decimal("0.01"))
    assert sum(Decimal(s["amount"]) for s in refund["splits"]) == Decimal(refund["totalAmount"])
    original = by_reason(sale)
    for reason, split in by_reason(refund).items():
        assert Decimal(split["amount"]) <= Decimal(original[reason]["amount"])
        assert split["payeeUserId"] == original[reason]["payeeUserId"]
    validate_message(Topic.REVENUE_EVENTS, messages(Topic.REVENUE_EVENTS)[1])


def test_a_full_refund_takes_back_exactly_each_split(people):
    config_set(instructor_email="teach@example.com")
    payload = activated()
    record("enrollment.activated", payload)
    record("enrollment.revoked", {**payload, "reason": "refund", "refundAmount": Decimal("199.00"), "currency": "USD"})
    sale, refund = revenue_events()
    assert {s["reason"]: s["amount"] for s in refund["splits"]} == {s["reason"]: s["amount"] for s in sale["splits"]}
    assert set(RevenueShare.objects.values_list("status", flat=True)) == {ShareStatus.REFUNDED}


def test_a_refund_before_its_sale_is_kept_and_sent_after_the_sale(people):
    config_set()
    payload = activated()
    record("enrollment.revoked", {**payload, "reason": "refund", "refundAmount": Decimal("199.00"), "currency": "USD"})
    assert revenue_events() == []
    record("enrollment.activated", payload)
    assert [e["type"] for e in revenue_events()] == ["course_sale", "refund"]


def test_a_refund_in_another_currency_is_refused(people):
    config_set()
    payload = activated()
    record("enrollment.activated", payload)
    with pytest.raises(CurrencyMismatch):
        record("enrollment.revoked", {**payload, "reason": "refund", "refundAmount": Decimal("10"), "currency": "EUR"})
    assert len(revenue_events()) == 1


def test_an_admin_revocation_without_refund_emits_no_refund(people):
    config_set()
    payload = activated()
    record("enrollment.activated", payload)
    record("enrollment.revoked", {**payload, "reason": "admin"})
    assert len(revenue_events()) == 1


def test_on_completion_holds_creator_and_instructor_shares(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    record("enrollment.activated", activated())
    splits = by_reason(revenue_events()[0])
    assert splits["creator_share"]["hold"] is True and splits["instructor_share"]["hold"] is True
    assert "hold" not in splits["platform_fee"]


def test_completion_releases_the_creator_and_the_interaction_releases_the_instructor(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    payload = activated()
    record("enrollment.activated", payload)
    sale_id = revenue_events()[0]["eventId"]
    record("enrollment.completed", {**payload, "completedAt": NOW + timedelta(days=5), "interactionMet": False})
    assert releases() == [{"eventId": sale_id, "payeeUserId": str(people["creator"].pk), "action": "release"}]
    record("enrollment.interaction_met", {**payload})
    assert releases()[-1] == {"eventId": sale_id, "payeeUserId": str(people["instructor"].pk), "action": "release"}
    record("enrollment.expired", {**payload, "expiredAt": NOW + timedelta(days=90)})
    holds_settle_due(now=NOW + timedelta(days=91))
    assert len(releases()) == 2  # nothing left to forfeit
    validate_message(Topic.REVENUE_RELEASES, messages(Topic.REVENUE_RELEASES)[0])


def test_completion_with_the_interaction_met_releases_both_at_once(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    payload = activated()
    record("enrollment.activated", payload)
    record("enrollment.completed", {**payload, "completedAt": NOW + timedelta(days=5), "interactionMet": True})
    assert sorted(r["action"] for r in releases()) == ["release", "release"]
    assert len(messages(Topic.REVENUE_RELEASES)) == 1


def test_expiry_before_completion_forfeits_both_and_after_completion_only_the_instructor(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    never = activated()
    record("enrollment.activated", never)
    record("enrollment.expired", {**never, "expiredAt": NOW + timedelta(days=90)}, now=NOW + timedelta(days=90))
    assert releases() == []  # the grace period: a completion from before the expiry may still arrive
    assert holds_settle_due(now=NOW + timedelta(days=90, hours=23)) == 0
    assert holds_settle_due(now=NOW + timedelta(days=91)) == 1
    assert {(r["payeeUserId"], r["action"]) for r in releases()} == {
        (str(people["creator"].pk), "forfeit"), (str(people["instructor"].pk), "forfeit")}

    completed = activated()
    record("enrollment.activated", completed)
    record("enrollment.completed", {**completed, "completedAt": NOW + timedelta(days=5)})
    record("enrollment.expired", {**completed, "expiredAt": NOW + timedelta(days=90)})
    holds_settle_due(now=NOW + timedelta(days=91))
    later = [r for r in releases() if r["eventId"] == f"rev_sale_{completed['enrollmentId']}"]
    assert [(r["payeeUserId"], r["action"]) for r in later] == [
        (str(people["creator"].pk), "release"), (str(people["instructor"].pk), "forfeit")]


def test_a_refund_of_held_shares_is_marked_held_and_the_rest_is_forfeited(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    payload = activated()
    record("enrollment.activated", payload)
    record("enrollment.revoked", {**payload, "reason": "refund", "refundAmount": Decimal("50.00"), "currency": "USD"})
    refund = revenue_events()[1]
    assert by_reason(refund)["creator_share"]["hold"] is True
    holds_settle_due(now=NOW + timedelta(days=2))
    assert {r["action"] for r in releases()} == {"forfeit"}


def test_a_fully_refunded_held_share_is_neither_released_nor_forfeited(people):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    payload = activated()
    record("enrollment.activated", payload)
    record("enrollment.revoked", {**payload, "reason": "refund", "refundAmount": Decimal("199.00"), "currency": "USD"})
    holds_settle_due(now=NOW + timedelta(days=2))
    assert releases() == []


EVENTS = ["activated", "completed", "interaction_met", "expired"]


@pytest.mark.parametrize("order", list(itertools.permutations(EVENTS)))
def test_the_outcome_is_the_same_in_every_order(people, order):
    """Completed on day 5, interaction on day 6, expired on day 90: both shares released, whatever arrives first."""
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    base = activated()
    payloads = {"activated": base, "completed": {**base, "completedAt": NOW + timedelta(days=5)},
                "interaction_met": {**base, "metAt": NOW + timedelta(days=6)},
                "expired": {**base, "expiredAt": NOW + timedelta(days=90)}}
    for name in order:
        record(f"enrollment.{name}", payloads[name], now=NOW + timedelta(days=90))
    holds_settle_due(now=NOW + timedelta(days=92))
    assert len(revenue_events()) == 1
    assert sorted((r["payeeUserId"], r["action"]) for r in releases()) == sorted([
        (str(people["creator"].pk), "release"), (str(people["instructor"].pk), "release")])


@pytest.mark.parametrize("order", list(itertools.permutations(["activated", "completed", "expired"])))
def test_an_instructor_share_without_interaction_is_forfeited_in_every_order(people, order):
    config_set(instructor_email="teach@example.com", release_policy="on_completion")
    base = activated()
    payloads = {"activated": base, "completed": {**base, "completedAt": NOW + timedelta(days=5)},
                "expired": {**base, "expiredAt": NOW + timedelta(days=90)}}
    for name in order:
        record(f"enrollment.{name}", payloads[name], now=NOW + timedelta(days=90))
    holds_settle_due(now=NOW + timedelta(days=92))
    assert sorted((r["payeeUserId"], r["action"]) for r in releases()) == sorted([
        (str(people["creator"].pk), "release"), (str(people["instructor"].pk), "forfeit")])


def test_an_activation_through_the_handler_takes_one_statement_per_write_and_no_savepoint(
        people, django_assert_max_num_queries):
    from integration.registry import Delivery
    from revenue.handlers import enrollment_lifecycle

    config_set(instructor_email="teach@example.com")
    payload = activated()
    message = {"source": "lms", "idempotencyKey": f"enrollment.activated:{payload['enrollmentId']}",
               "event": "enrollment.activated", "payload": payload}
    # The seen row, the facts row, the config in force with its erased payees, the sale and its shares (one
    # statement on PostgreSQL, two elsewhere), the outbox.
    with django_assert_max_num_queries(5 if connection.vendor == "postgresql" else 6) as captured:
        answer = enrollment_lifecycle(message, delivery=Delivery(idempotency_key="k-1", source_service="lms"))
    assert answer == {"success": True, "status": "processed"}
    assert not [query for query in captured.captured_queries if "SAVEPOINT" in query["sql"]]
    assert RevenueShare.objects.filter(sale__enrollment_id=payload["enrollmentId"]).count() == 3
    assert len(revenue_events()) == 1
    assert enrollment_lifecycle(message, delivery=Delivery(idempotency_key="k-1", source_service="lms")) == {
        "success": True, "status": "duplicate"}
