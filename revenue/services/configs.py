"""Revenue configs: a new version from an effective date, the history kept, payees' roles following."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max

from integration import routes
from integration.mail import send_templated_email
from integration.money import to_decimal
from revenue import remote
from revenue.errors import (
    ConfigChangedConcurrently,
    EffectiveDateBeforeRecordedSales,
    PayeeMissing,
    PayeeNotFound,
    PlatformPayeeMissing,
    ShareOutOfRange,
    SharesDoNotSumToOne,
)
from revenue.models import BASIS_POINTS, SHARE_UNIT, Basis, ReleasePolicy, RevenueConfig, RevenueSale
from revenue.services.roles import payee_roles_sync


@dataclass(frozen=True)
class ConfigChange:
    """What a content admin asks for (the body of ``PUT …/revenue-config/``, in Python names)."""

    instructor_split: Decimal
    creator_split: Decimal
    platform_split: Decimal
    affiliate_split: Decimal = Decimal("0")
    instructor_email: str = ""
    creator_email: str = ""
    affiliate_email: str = ""
    basis: str = Basis.NET
    release_policy: str = ReleasePolicy.ON_SALE
    effective_date: date | None = None


SHARE_FIELDS = {"instructor": "instructorSplit", "creator": "creatorSplit", "affiliate": "affiliateSplit",
                "platform": "platformSplit"}


def shares_validate(*, shares: dict[str, Decimal | str]) -> dict[str, int]:
    """The four shares as basis points, or the reason they are refused (each in [0, 1], 4 decimals, sum 1)."""
    points: dict[str, int] = {}
    for name, wire in SHARE_FIELDS.items():
        raw = shares.get(name, Decimal("0"))
        try:
            value = to_decimal(raw if raw is not None else "0")
        except (InvalidOperation, ArithmeticError, ValueError):
            raise ShareOutOfRange(details={wire: str(raw)[:40]}) from None
        except Exception:
            raise ShareOutOfRange(details={wire: str(raw)[:40]}) from None
        if value < 0 or value > 1 or value.quantize(SHARE_UNIT) != value:
            raise ShareOutOfRange(details={wire: str(value)})
        points[name] = int(value * BASIS_POINTS)
    total = sum(points.values())
    if total != BASIS_POINTS:
        raise SharesDoNotSumToOne(
            f"The shares sum to {Decimal(total) / BASIS_POINTS:.4f}, not 1: the instructor, creator, affiliate and "
            "platform shares must add up to exactly 1.",
            details={"sum": f"{Decimal(total) / BASIS_POINTS:.4f}",
                     **{wire: f"{Decimal(points[name]) / BASIS_POINTS:.4f}" for name, wire in SHARE_FIELDS.items()}})
    return points


def _payee(email: str, *, share_points: int, field: str, required: bool) -> remote.Payee | None:
    email = (email or "").strip()
    if not email:
        if share_points and required:
            raise PayeeMissing(details={"field": field})
        return None
    payee = remote.payee_find(email=email)
    if payee is None:
        raise PayeeNotFound(details={"field": field, "email": email})
    return payee


def revenue_config_set(*, product_type: str, external_id: str, change: ConfigChange, now: datetime,
                       actor_lms_user_id: str = "", actor_email: str = "", product_title: str = "") -> RevenueConfig:
    """Puts ``change`` in force from its effective date (today by default) and keeps the history.

    The version in force before that date now ends on it; a version already starting on that date
    is superseded (kept, marked); a later version still starts when it did, so the new one ends there.
    An effective date on or before the day of a sale already split is refused: that sale keeps the
    split it was sent with, and history stays what was applied. The shares are checked here, in
    the database (a CheckConstraint) and on the page and API that call this.
    """
    points = shares_validate(shares={"instructor": change.instructor_split, "creator": change.creator_split,
                                     "affiliate": change.affiliate_split, "platform": change.platform_split})
    if change.basis not in Basis.values:
        raise ShareOutOfRange("The basis is gross or net.", details={"basis": change.basis})
    if change.release_policy not in ReleasePolicy.values:
        raise ShareOutOfRange("The release policy is on_sale or on_completion.",
                              details={"releasePolicy": change.release_policy})
    # The instructor may be left open: each enrollment's own instructor is then paid.
    instructor = _payee(change.instructor_email, share_points=points["instructor"], field="instructorEmail",
                        required=False)
    creator = _payee(change.creator_email, share_points=points["creator"], field="creatorEmail", required=True)
    affiliate = _payee(change.affiliate_email, share_points=points["affiliate"], field="affiliateEmail",
                       required=True)
    platform = remote.platform_payee()
    if platform is None:
        raise PlatformPayeeMissing()
    effective = change.effective_date or now.date()
    title = product_title or remote.course_title(product_type=product_type, external_id=external_id)
    return _version_insert(
        product_type=product_type, external_id=external_id, effective=effective, now=now, title=title,
        fields={
            "instructor_email": instructor.email if instructor else "",
            "instructor_commerce_user_id": instructor.commerce_user_id if instructor else "",
            "instructor_bps": points["instructor"],
            "creator_email": creator.email if creator else "",
            "creator_commerce_user_id": creator.commerce_user_id if creator else "",
            "creator_bps": points["creator"],
            "affiliate_email": affiliate.email if affiliate else "",
            "affiliate_commerce_user_id": affiliate.commerce_user_id if affiliate else "",
            "affiliate_bps": points["affiliate"],
            "platform_commerce_user_id": platform.commerce_user_id,
            "platform_bps": points["platform"],
            "basis": change.basis, "release_policy": change.release_policy,
            "changed_by_lms_user_id": actor_lms_user_id, "changed_by_email": actor_email,
        },
        emails={p.commerce_user_id: p.email for p in (instructor, creator, affiliate) if p})


@transaction.atomic
def _version_insert(*, product_type: str, external_id: str, effective: date, now: datetime, title: str,
                    fields: dict, emails: dict[str, str]) -> RevenueConfig:
    timeline = list(RevenueConfig.objects.select_for_update().filter(
        product_type=product_type, external_id=external_id, superseded_at__isnull=True).order_by("effective_date"))
    last_sale = RevenueSale.objects.filter(product_type=product_type, external_id=external_id).aggregate(
        last=Max("occurred_at"))["last"]
    if last_sale is not None and effective <= last_sale.date():
        raise EffectiveDateBeforeRecordedSales(details={"effectiveDate": effective.isoformat(),
                                                        "lastSaleDate": last_sale.date().isoformat()})
    before = {v for version in timeline for v in _payee_ids(version)}
    same_day = next((version for version in timeline if version.effective_date == effective), None)
    previous = next((version for version in reversed(timeline) if version.effective_date < effective), None)
    following = next((version for version in timeline if version.effective_date > effective), None)
    if same_day is not None:
        same_day.superseded_at = now
        same_day.updated_at = now
        same_day.save(update_fields=["superseded_at", "updated_at"])
    if previous is not None:
        previous.end_date = effective
        previous.updated_at = now
        previous.save(update_fields=["end_date", "updated_at"])
    title = title or next((version.product_title for version in reversed(timeline) if version.product_title), "")
    try:
        with transaction.atomic():
            config = RevenueConfig.objects.create(
                product_type=product_type, external_id=external_id, product_title=title, effective_date=effective,
                end_date=following.effective_date if following else None, created_at=now, updated_at=now, **fields)
    except IntegrityError:  # a first version of the same date written at the same moment (no row to lock yet)
        raise ConfigChangedConcurrently(details={"effectiveDate": effective.isoformat()}) from None
    payee_roles_sync(commerce_user_ids=before | set(_payee_ids(config)), now=now, course_ids=(external_id,),
                     emails=emails)
    _payees_notify(config=config, previous=same_day or previous)
    return config


def _payees_notify(*, config: RevenueConfig, previous: RevenueConfig | None) -> None:
    """An email (after commit) to each payee whose share is new or changed by this version, and to each whose
    share of the version before ends with it (another payee in their place, or no share for the role)."""
    for role, label in (("instructor", "instructor"), ("creator", "content creator"), ("affiliate", "affiliate")):
        email, user_id, points = (getattr(config, f"{role}_email"), getattr(config, f"{role}_commerce_user_id"),
                                  getattr(config, f"{role}_bps"))
        if previous is not None:
            _share_ended_notify(config=config, previous=previous, role=role, label=label, user_id=user_id,
                                points=points)
        if not email or not points:
            continue
        if previous is not None and (getattr(previous, f"{role}_commerce_user_id"), getattr(previous, f"{role}_bps"),
                                     previous.release_policy) == (user_id, points, config.release_policy):
            continue
        send_templated_email(to=email, template="revenue_share_assigned", context={
            "title": config.product_title or config.external_id, "role": label,
            "percent": f"{Decimal(points) / 100:.2f}".rstrip("0").rstrip("."), "basis": config.basis,
            "effective_date": config.effective_date.isoformat(),
            "held": config.release_policy == ReleasePolicy.ON_COMPLETION,
            "earnings_url": routes.base_url(routes.LMS) + "/lms/earnings/"})


def _share_ended_notify(*, config: RevenueConfig, previous: RevenueConfig, role: str, label: str, user_id, points):
    email, old_user_id = getattr(previous, f"{role}_email"), getattr(previous, f"{role}_commerce_user_id")
    if not email or email.endswith("@invalid") or not getattr(previous, f"{role}_bps"):
        return
    if points and user_id == old_user_id:
        return  # still theirs (changed or not: the assignment email covers a change)
    send_templated_email(to=email, template="revenue_share_ended", context={
        "title": config.product_title or config.external_id, "role": label,
        "effective_date": config.effective_date.isoformat(),
        "earnings_url": routes.base_url(routes.LMS) + "/lms/earnings/"})


def _payee_ids(config: RevenueConfig) -> list[str]:
    return [user_id for user_id, points in ((config.instructor_commerce_user_id, config.instructor_bps),
                                            (config.creator_commerce_user_id, config.creator_bps),
                                            (config.affiliate_commerce_user_id, config.affiliate_bps))
            if user_id and points]
