"""Payouts' contracts (Commerce receives): revenue events (6.1.3, plus refunds, holds and fees) and releases."""

from datetime import datetime
from decimal import Decimal

from rest_framework import serializers

from integration.contracts.base import (
    LMS_SOURCE,
    CurrencyField,
    MoneyField,
    WireModel,
    _id,
    _optional,
)
from integration.contracts.base import dataclasses as _dc

frozen = _dc.dataclass(frozen=True)

REVENUE_EVENT_TYPES = ["course_sale", "program_sale", "subscription_renewal", "refund"]

# --- 6.1.3 Revenue events (plus refund, creator_share, gross/fee, hold) -----

class RevenueSplitSerializer(serializers.Serializer):
    payeeUserId = _id()
    amount = MoneyField(min_value=Decimal("0"))
    reason = serializers.ChoiceField(["instructor_share", "creator_share", "platform_fee", "affiliate", "other"])
    description = _optional(serializers.CharField, allow_blank=True, max_length=1000)
    # Held until completion under the `on_completion` release policy (DESIGN.md section 5).
    hold = serializers.BooleanField(required=False)


class RevenueEventSerializer(serializers.Serializer):
    eventId = _id()
    type = serializers.ChoiceField(REVENUE_EVENT_TYPES)
    orderId = _id()
    productExternalId = _id()
    totalAmount = MoneyField(min_value=Decimal("0"))
    grossAmount = _optional(MoneyField, min_value=Decimal("0"))
    processorFee = _optional(MoneyField, min_value=Decimal("0"))
    currency = CurrencyField()
    splits = RevenueSplitSerializer(many=True, allow_empty=False)
    occurredAt = serializers.DateTimeField()
    # A refund names the sale it reverses, so its debits mirror that sale's credits.
    originalEventId = _optional(_id)
    # Splits that do not sum to totalAmount are well-formed on the wire: spec 6.1.3 answers that event
    # `failed` (splits_do_not_sum) and posts nothing for it, while the rest of the batch goes on
    # (payouts.services.events). Refusing it here would turn one bad event into a 400 for the whole batch.


class RevenueEventRequestSerializer(serializers.Serializer):
    source = serializers.ChoiceField(LMS_SOURCE)
    idempotencyKey = _id()
    events = RevenueEventSerializer(many=True, allow_empty=False)
    signature = _optional(serializers.CharField, allow_blank=True, max_length=512)


class RevenueEventResultSerializer(serializers.Serializer):
    eventId = _id()
    status = serializers.ChoiceField(["processed", "duplicate", "failed"])
    error = serializers.CharField(required=False)


class RevenueEventResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    processed = serializers.IntegerField(min_value=0)
    results = RevenueEventResultSerializer(many=True)


class RevenueReleaseSerializer(serializers.Serializer):
    eventId = _id()
    payeeUserId = _id()
    action = serializers.ChoiceField(["release", "forfeit"])


class RevenueReleasesRequestSerializer(serializers.Serializer):
    source = serializers.ChoiceField(LMS_SOURCE, required=False)
    idempotencyKey = _id()
    releases = RevenueReleaseSerializer(many=True, allow_empty=False)


class RevenueReleaseResultSerializer(serializers.Serializer):
    eventId = _id()
    payeeUserId = _id()
    status = serializers.ChoiceField(["released", "forfeited", "duplicate", "failed"])
    error = serializers.CharField(required=False)


class RevenueReleasesResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    processed = serializers.IntegerField(min_value=0)
    results = RevenueReleaseResultSerializer(many=True)



@frozen
class RevenueSplit(WireModel):
    payee_user_id: str
    amount: Decimal
    reason: str
    description: str | None = None
    hold: bool = False


@frozen
class RevenueEvent(WireModel):
    event_id: str
    type: str
    order_id: str
    product_external_id: str
    total_amount: Decimal
    currency: str
    splits: tuple[RevenueSplit, ...]
    occurred_at: datetime
    gross_amount: Decimal | None = None
    processor_fee: Decimal | None = None
    original_event_id: str | None = None


@frozen
class RevenueEvents(WireModel):
    """Topic ``revenue.events``."""

    source: str
    idempotency_key: str
    events: tuple[RevenueEvent, ...]
    signature: str | None = None


@frozen
class RevenueEventResult(WireModel):
    event_id: str
    status: str
    error: str | None = None


@frozen
class RevenueEventsAnswer(WireModel):
    success: bool
    processed: int
    results: tuple[RevenueEventResult, ...]


@frozen
class RevenueRelease(WireModel):
    event_id: str
    payee_user_id: str
    action: str


@frozen
class RevenueReleases(WireModel):
    """Topic ``revenue.releases``."""

    idempotency_key: str
    releases: tuple[RevenueRelease, ...]
    source: str | None = None


@frozen
class RevenueReleaseResult(WireModel):
    event_id: str
    payee_user_id: str
    status: str
    error: str | None = None


@frozen
class RevenueReleasesAnswer(WireModel):
    success: bool
    processed: int
    results: tuple[RevenueReleaseResult, ...]


# --- PayoutsPort.personal_data: a payee's earnings and payouts for their data download ---------

class PayoutsPersonalDataQuerySerializer(serializers.Serializer):
    userId = _id()


class PayoutsPersonalDataSerializer(serializers.Serializer):
    balances = serializers.ListField(child=serializers.DictField())
    ledger = serializers.ListField(child=serializers.DictField())
    payouts = serializers.ListField(child=serializers.DictField())
    payoutAccount = serializers.DictField(allow_null=True, required=False)
    taxInfo = serializers.DictField(allow_null=True, required=False)


@frozen
class PayoutsPersonalData(WireModel):
    balances: tuple[dict, ...] = ()
    ledger: tuple[dict, ...] = ()
    payouts: tuple[dict, ...] = ()
    payout_account: dict | None = None
    tax_info: dict | None = None


# --- PayoutsPort.ledger_sales: what `reconcile sales` compares with the paid order lines ---------

LEDGER_SALES_MAX_LIMIT = 1000
LEDGER_SALE_TYPES = ["course_sale", "program_sale", "subscription_renewal", "refund"]


class LedgerSalesQuerySerializer(serializers.Serializer):
    after = _id(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=LEDGER_SALES_MAX_LIMIT, required=False)


class LedgerSaleSerializer(serializers.Serializer):
    eventId = _id()
    type = serializers.ChoiceField(LEDGER_SALE_TYPES)
    orderId = _id(allow_blank=True)
    productExternalId = _id(allow_blank=True)
    grossAmount = MoneyField(min_value=Decimal("0"))
    currency = CurrencyField()
    occurredAt = serializers.DateTimeField()
    originalEventId = _optional(_id)
    demo = serializers.BooleanField()


class LedgerSalePageSerializer(serializers.Serializer):
    sales = LedgerSaleSerializer(many=True)
    nextCursor = _optional(_id)


@frozen
class LedgerSale(WireModel):
    """One sale or refund posted to the ledger: its event, the order and product it names, and what it moved
    through sales clearing (the gross; for a refund, what was given back). ``demo``: seed_demo's history,
    posted without an order behind it."""

    event_id: str
    type: str
    order_id: str
    product_external_id: str
    gross_amount: Decimal
    currency: str
    occurred_at: datetime
    demo: bool = False
    original_event_id: str | None = None


@frozen
class LedgerSalePage(WireModel):
    """One keyset page of the ledger's sales and refunds; ``next_cursor`` asks the next."""

    sales: tuple[LedgerSale, ...] = ()
    next_cursor: str | None = None
