"""Reads: configs in force and their history, and a payee's earnings per course."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from revenue.models import EnrollmentFacts, ErasedAccount, RevenueConfig, RevenueShare, ShareStatus

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=19, decimal_places=4))


def revenue_config_in_force(*, product_type: str, external_id: str, on: date) -> RevenueConfig | None:
    """The version that applies to a sale on ``on`` (not superseded, effective_date <= on < end_date)."""
    return (RevenueConfig.objects.filter(product_type=product_type, external_id=external_id,
                                         superseded_at__isnull=True, effective_date__lte=on)
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=on)).order_by("-effective_date").first())


PAYEE_ROLES = ("instructor", "creator", "affiliate")
_sale_config_sql: dict[str, str] = {}


def revenue_config_for_sale(*, product_type: str, external_id: str, on: date) -> RevenueConfig | None:
    """:func:`revenue_config_in_force`, with ``<role>_erased`` set on it for each payee role: whether that
    account was erased (an :class:`ErasedAccount` row, the rule of ``erasure.is_erased``), in one statement.

    Written out rather than built by the ORM: a sale reads it, and the queryset with three ``Exists``
    annotations cost ~1 ms of CPU to build and compile each time, the statement a tenth of it. Table and
    column names come from the models' ``_meta``, values are parameters; the same SQL runs on PostgreSQL
    and SQLite, and the rows go through the fields' converters as the ORM's do.
    """
    rows = list(RevenueConfig.objects.raw(_sale_config_statement(), [product_type, external_id, connection.ops.adapt_datefield_value(on),
                                                connection.ops.adapt_datefield_value(on)]))
    if not rows:
        return None
    config = rows[0]
    for role in PAYEE_ROLES:
        setattr(config, f"{role}_erased", bool(getattr(config, f"{role}_erased")))
    return config


def _sale_config_statement() -> str:
    sql = _sale_config_sql.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        meta, erased = RevenueConfig._meta, ErasedAccount._meta

        def column(name: str) -> str:
            return "c." + quote(meta.get_field(name).column)

        flags = ", ".join(
            f"EXISTS (SELECT 1 FROM {quote(erased.db_table)} e WHERE e.{quote(erased.pk.column)} = "  # noqa: S608
            f"{column(f'{role}_commerce_user_id')}) AS {quote(f'{role}_erased')}" for role in PAYEE_ROLES)
        sql = (f"SELECT {', '.join('c.' + quote(field.column) for field in meta.concrete_fields)}, {flags} "  # noqa: S608 (names from the models; values are parameters)
               f"FROM {quote(meta.db_table)} c WHERE {column('product_type')} = %s AND {column('external_id')} = %s "
               f"AND {column('superseded_at')} IS NULL AND {column('effective_date')} <= %s "
               f"AND ({column('end_date')} IS NULL OR {column('end_date')} > %s) "
               f"ORDER BY {column('effective_date')} DESC LIMIT 1")
        _sale_config_sql[connection.vendor] = sql
    return sql


def revenue_config_latest(*, product_type: str, external_id: str) -> RevenueConfig | None:
    """The newest version of the timeline (it may start in the future)."""
    return (RevenueConfig.objects.filter(product_type=product_type, external_id=external_id,
                                         superseded_at__isnull=True).order_by("-effective_date").first())


def revenue_config_history(*, product_type: str, external_id: str) -> QuerySet[RevenueConfig]:
    """Every version, the superseded ones too, newest first."""
    return (RevenueConfig.objects.filter(product_type=product_type, external_id=external_id)
            .order_by("-effective_date", "-created_at"))


def revenue_config_products(*, search: str = "", product_type: str = "", release_policy: str = "") -> QuerySet:
    """One row per product with a config: its latest version (for the list of configs)."""
    configs = RevenueConfig.objects.filter(superseded_at__isnull=True, end_date__isnull=True)
    if search:
        configs = configs.filter(Q(external_id__icontains=search) | Q(product_title__icontains=search)
                                 | Q(instructor_email__icontains=search) | Q(creator_email__icontains=search))
    if product_type:
        configs = configs.filter(product_type=product_type)
    if release_policy:
        configs = configs.filter(release_policy=release_policy)
    return configs.order_by("product_title", "external_id")


def earnings_shares(*, payee_commerce_user_id: str) -> QuerySet[RevenueShare]:
    """A payee's shares, newest sale first, with their sale (one query per page)."""
    return (RevenueShare.objects.filter(payee_commerce_user_id=payee_commerce_user_id)
            .select_related("sale").order_by("-sale__occurred_at", "recipient"))


@dataclass(frozen=True)
class CourseEarnings:
    product_type: str
    external_id: str
    title: str
    currency: str
    sales: int
    earned: Decimal
    refunded: Decimal
    waiting: Decimal
    released: Decimal
    forfeited: Decimal

    @property
    def net(self) -> Decimal:
        return self.earned - self.refunded - self.forfeited


def earnings_by_course(*, payee_commerce_user_id: str) -> list[CourseEarnings]:
    """Per course (and currency): what the payee earned, got back refunded, waits for, had released or forfeited."""
    def status_sum(status: str):
        return Coalesce(Sum(F("amount") - F("refunded_amount"), filter=Q(status=status)), ZERO)

    rows = (RevenueShare.objects.filter(payee_commerce_user_id=payee_commerce_user_id)
            .values("sale__product_type", "sale__external_id", "sale__currency")
            .annotate(title=Max("sale__product_title"), sales=Count("sale", distinct=True),
                      earned=Coalesce(Sum("amount"), ZERO), refunded=Coalesce(Sum("refunded_amount"), ZERO),
                      waiting=status_sum(ShareStatus.HELD), released=status_sum(ShareStatus.RELEASED),
                      forfeited=status_sum(ShareStatus.FORFEITED))
            .order_by("sale__external_id", "sale__currency"))
    result = []
    for row in rows:
        result.append(CourseEarnings(
            product_type=row["sale__product_type"], external_id=row["sale__external_id"], title=row["title"],
            currency=row["sale__currency"], sales=row["sales"], earned=row["earned"], refunded=row["refunded"],
            waiting=row["waiting"], released=row["released"], forfeited=row["forfeited"]))
    return result


def enrollment_facts_for(*, enrollment_ids: list[str]) -> dict[str, EnrollmentFacts]:
    return {facts.enrollment_id: facts for facts in EnrollmentFacts.objects.filter(enrollment_id__in=enrollment_ids)}
