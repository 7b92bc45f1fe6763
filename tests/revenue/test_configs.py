from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from integration.topics import Topic
from revenue.errors import (
    EffectiveDateBeforeRecordedSales,
    PayeeMissing,
    PayeeNotFound,
    ShareOutOfRange,
    SharesDoNotSumToOne,
)
from revenue.models import ErasedAccount, RevenueConfig, RoleMapping
from revenue.selectors import revenue_config_for_sale, revenue_config_history, revenue_config_in_force
from revenue.services.lifecycle import lifecycle_event_record
from revenue.services.roles import billing_admin_role_sync
from tests.revenue.conftest import NOW, activated, messages, on
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db


def test_a_config_resolves_payees_from_emails_and_the_platform_payee(people):
    config = config_set(instructor_email="teach@example.com")
    assert config.instructor_commerce_user_id == str(people["instructor"].pk)
    assert config.creator_commerce_user_id == str(people["creator"].pk)
    assert config.platform_commerce_user_id  # identity's platform payee
    assert (config.instructor_split, config.creator_split, config.platform_split) == (
        Decimal("0.3000"), Decimal("0.4000"), Decimal("0.3000"))
    assert config.basis == "net" and config.release_policy == "on_sale"


def test_history_the_config_in_force_at_the_sale_date_applies(people):
    first = config_set(effective="2026-01-01", creator="0.40", platform="0.30")
    second = config_set(effective="2026-03-01", creator="0.50", platform="0.20")
    inserted = config_set(effective="2026-02-01", creator="0.45", platform="0.25")
    first.refresh_from_db()
    assert first.end_date == on("2026-02-01")
    assert inserted.end_date == on("2026-03-01")
    assert second.end_date is None
    assert revenue_config_in_force(product_type="course", external_id="course-1", on=on("2026-01-31")) == first
    assert revenue_config_in_force(product_type="course", external_id="course-1", on=on("2026-02-01")) == inserted
    assert revenue_config_in_force(product_type="course", external_id="course-1", on=on("2027-01-01")) == second
    assert revenue_config_in_force(product_type="course", external_id="course-1", on=on("2025-12-31")) is None


def test_the_config_a_sale_reads_is_the_one_in_force_with_its_erased_payees_marked(people, django_assert_num_queries):
    first = config_set(effective="2026-01-01", creator="0.40", platform="0.30")
    second = config_set(effective="2026-03-01", creator="0.50", platform="0.20")
    config_set(effective="2026-03-01", creator="0.60", platform="0.10")  # supersedes second
    ErasedAccount.objects.create(commerce_user_id=first.creator_commerce_user_id, erased_at=NOW, received_at=NOW)
    for day in ("2025-12-31", "2026-01-01", "2026-02-28", "2026-03-01", "2027-01-01"):
        expected = revenue_config_in_force(product_type="course", external_id="course-1", on=on(day))
        with django_assert_num_queries(1):
            found = revenue_config_for_sale(product_type="course", external_id="course-1", on=on(day))
        assert found == expected
        if found is not None:
            assert found != second
            assert [getattr(found, field.attname) for field in RevenueConfig._meta.concrete_fields] == [
                getattr(expected, field.attname) for field in RevenueConfig._meta.concrete_fields]
            assert (found.instructor_erased, found.creator_erased, found.affiliate_erased) == (False, True, False)
    assert revenue_config_for_sale(product_type="program", external_id="course-1", on=on("2026-02-01")) is None


def test_a_second_version_on_the_same_date_supersedes_the_first_and_both_are_kept(people):
    old = config_set(effective="2026-07-01", creator="0.40", platform="0.30")
    new = config_set(effective="2026-07-01", creator="0.60", platform="0.10")
    old.refresh_from_db()
    assert old.superseded_at is not None
    assert list(revenue_config_history(product_type="course", external_id="course-1")) == [new, old]
    assert revenue_config_in_force(product_type="course", external_id="course-1", on=on("2026-07-02")) == new


@pytest.mark.parametrize(("instructor", "creator", "platform"), [("0.30", "0.40", "0.31"), ("0.5", "0.5", "0.0001"),
                                                                 ("0", "0", "0")])
def test_shares_that_do_not_sum_to_one_are_refused_and_nothing_is_written(people, instructor, creator, platform):
    with pytest.raises(SharesDoNotSumToOne) as refused:
        config_set(instructor=instructor, creator=creator, platform=platform)
    assert "sum to" in refused.value.message and "exactly 1" in refused.value.message
    assert refused.value.status_code == 422
    assert not RevenueConfig.objects.exists()
    assert not messages(Topic.ROLE_GRANT)


@pytest.mark.parametrize("share", ["-0.1", "1.5", "0.12345"])
def test_a_share_outside_zero_to_one_or_too_precise_is_refused(people, share):
    with pytest.raises(ShareOutOfRange):
        config_set(instructor=share, creator="0", platform="0.5")
    assert not RevenueConfig.objects.exists()


def test_the_database_refuses_shares_that_do_not_sum_to_one(people):
    config = config_set()
    with pytest.raises(IntegrityError), transaction.atomic():
        RevenueConfig.objects.filter(pk=config.pk).update(platform_bps=2999)
    with pytest.raises(IntegrityError), transaction.atomic():
        RevenueConfig.objects.filter(pk=config.pk).update(creator_bps=12000, platform_bps=-5000)


def test_an_unknown_payee_email_or_a_share_without_a_payee_is_refused(people):
    with pytest.raises(PayeeNotFound) as unknown:
        config_set(creator_email="nobody@example.com")
    assert unknown.value.details == {"field": "creatorEmail", "email": "nobody@example.com"}
    with pytest.raises(PayeeMissing):
        config_set(creator_email="")
    with pytest.raises(PayeeMissing):
        config_set(affiliate="0.10", platform="0.20")
    assert not RevenueConfig.objects.exists()


def test_an_effective_date_on_or_before_a_recorded_sale_is_refused(people):
    config_set(effective="2026-01-01")
    lifecycle_event_record(idempotency_key="a1", event="enrollment.activated", payload=activated(), now=NOW)
    with pytest.raises(EffectiveDateBeforeRecordedSales):
        config_set(effective=NOW.date().isoformat(), creator="0.5", platform="0.2")
    config_set(effective=(NOW.date() + timedelta(days=1)).isoformat(), creator="0.5", platform="0.2")


def test_assigning_a_share_grants_payee_and_removing_the_last_one_revokes_it(people):
    config_set(instructor_email="teach@example.com", effective="2026-01-01")
    grants = messages(Topic.ROLE_GRANT)
    assert {(g["userId"], g["role"]) for g in grants} == {(str(people["instructor"].pk), "payee"),
                                                        (str(people["creator"].pk), "payee")}
    assert all("revenue share" in g["reason"] for g in grants)
    # Same people again: nothing more is sent.
    config_set(instructor_email="teach@example.com", effective="2026-02-01", creator="0.35", platform="0.35")
    assert len(messages(Topic.ROLE_GRANT)) == 2
    # The creator keeps a share on another course, the instructor loses the only one.
    config_set(external_id="course-2", creator_email="make@example.com")
    config_set(effective="2026-03-01", instructor="0", creator="0.5", platform="0.5", creator_email="refer@example.com")
    revokes = messages(Topic.ROLE_REVOKE)
    assert [(r["userId"], r["role"]) for r in revokes] == [(str(people["instructor"].pk), "payee")]
    assert RoleMapping.objects.get(commerce_user_id=str(people["creator"].pk)).granted


def test_billing_admin_maps_to_commerce_admin_only_when_the_setting_says_so(people, settings):
    user_id = str(people["other"].pk)
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = False
    assert billing_admin_role_sync(commerce_user_id=user_id, is_billing_admin=True, now=NOW) is False
    assert not messages(Topic.ROLE_GRANT)
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True
    assert billing_admin_role_sync(commerce_user_id=user_id, is_billing_admin=True, now=NOW) is True
    assert billing_admin_role_sync(commerce_user_id=user_id, is_billing_admin=True, now=NOW) is False
    assert [g["role"] for g in messages(Topic.ROLE_GRANT)] == ["commerce-admin"]
    assert billing_admin_role_sync(commerce_user_id=user_id, is_billing_admin=False, now=NOW) is True
    assert [r["role"] for r in messages(Topic.ROLE_REVOKE)] == ["commerce-admin"]


def test_payees_get_an_email_when_their_share_is_new_or_changed(people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        config_set(instructor_email="teach@example.com", release_policy="on_completion", title="Data science")
    assert sorted(m.to[0] for m in mailoutbox) == ["make@example.com", "teach@example.com"]
    teacher = next(m for m in mailoutbox if m.to == ["teach@example.com"])
    assert "Data science" in teacher.subject
    assert "30%" in teacher.body and "interacted" in teacher.body and "/lms/earnings/" in teacher.body
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        config_set(instructor_email="teach@example.com", release_policy="on_completion", creator="0.45",
                   platform="0.25", effective="2026-02-01")
    assert [m.to[0] for m in mailoutbox] == ["make@example.com"]  # only the changed share
