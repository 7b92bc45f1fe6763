"""Orders' contracts (Commerce receives): enrollment status, ``002_…`` connector 2."""

from datetime import datetime
from decimal import Decimal

from rest_framework import serializers

from integration.contracts.base import (
    WireModel,
    _id,
    _optional,
)
from integration.contracts.base import dataclasses as _dc

frozen = _dc.dataclass(frozen=True)

# 002 connector 2 names the LMS "cadence-lms"; "lms" is what 000 calls it elsewhere.
ENROLLMENT_STATUS_SOURCES = ["lms", "cadence-lms"]

# --- 002 connector 2: enrollment status -------------------------------------

class EnrollmentStatusPayloadSerializer(serializers.Serializer):
    enrollmentId = _id()
    orderId = _id()
    orderItemId = _id()
    status = serializers.ChoiceField(["approved", "rejected"])
    approvedAt = _optional(serializers.DateTimeField)
    rejectedAt = _optional(serializers.DateTimeField)
    approvedBy = _optional(_id)
    reason = _optional(serializers.CharField, allow_blank=True, max_length=1000)


class EnrollmentStatusSerializer(serializers.Serializer):
    source = serializers.ChoiceField(ENROLLMENT_STATUS_SOURCES)
    event = serializers.ChoiceField(["enrollment.approved", "enrollment.rejected"])
    payload = EnrollmentStatusPayloadSerializer()

    def validate(self, attrs):
        if attrs["event"].removeprefix("enrollment.") != attrs["payload"]["status"]:
            raise serializers.ValidationError({"payload": {"status": ["Does not match the event."]}})
        return attrs


class EnrollmentStatusResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    orderId = _id(required=False)
    orderItemId = _id(required=False)
    entitlementStatus = serializers.CharField(required=False)



@frozen
class EnrollmentStatusPayload(WireModel):
    enrollment_id: str
    order_id: str
    order_item_id: str
    status: str
    approved_at: datetime | None = None
    rejected_at: datetime | None = None
    approved_by: str | None = None
    reason: str | None = None


@frozen
class EnrollmentStatus(WireModel):
    """Topic ``enrollment.status``: ``enrollment.approved`` or ``enrollment.rejected``."""

    source: str
    event: str
    payload: EnrollmentStatusPayload


@frozen
class EnrollmentStatusAnswer(WireModel):
    success: bool
    order_id: str | None = None
    order_item_id: str | None = None
    entitlement_status: str | None = None


# --- OrdersPort's answers (Commerce-internal: orders answers identity in process) ---

@frozen
class OrdersPersonalData(WireModel):
    """Everything orders holds about a buyer, for the data download: orders with their lines,
    payments and refunds (plain JSON objects, money as decimal strings)."""

    user_id: str
    orders: tuple[dict, ...] = ()


@frozen
class PaidLine(WireModel):
    """One line of an order that was paid (whatever happened since), as ``reconcile enrollments`` and
    ``reconcile sales`` compare it. ``amount``: what the line earns (its total less tax), the sale's gross the
    LMS is told; ``answered_at``: the LMS's last answer that moved the line; ``refunded_at``: the order's last
    refund, if any."""

    line_id: str
    order_id: str
    order_number: str
    order_status: str
    entitlement_status: str
    enrollment_id: str
    fully_refunded: bool
    paid_at: datetime | None = None
    last_grant_at: datetime | None = None
    grants_sent: int = 0
    external_id: str = ""
    amount: Decimal = Decimal(0)
    answered_at: datetime | None = None
    refunded_at: datetime | None = None


@frozen
class PaidLinePage(WireModel):
    """One keyset page of paid lines, by line id; ``next_cursor`` asks the next."""

    lines: tuple[PaidLine, ...] = ()
    next_cursor: str | None = None


@frozen
class PaidOrder(WireModel):
    """An order that was paid (whatever happened since), as the revenue ledger checks an event against it."""

    order_id: str
    currency: str


@frozen
class PaidOrders(WireModel):
    orders: tuple[PaidOrder, ...] = ()
