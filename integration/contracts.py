"""The wire contracts: the spec's JSON shapes (``000_…`` section 6, ``002_…`` connector 2).

Field names are camelCase exactly as the spec writes them. Every message is
checked against its contract twice: by the sender before it is written to the
outbox, and by the receiver before its handler runs (local adapter and webhook
view alike), so both sides agree on what a valid message is.

Money is ``Decimal`` end to end: JSON is parsed with ``parse_float=Decimal``,
money fields accept a number or a decimal string and come out as ``Decimal``,
and a Python ``float`` anywhere in a message is refused.
"""

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import serializers

from integration import routes
from integration.errors import ApplicationError


class InvalidPayloadError(ApplicationError):
    status_code = 400
    code = "invalid_payload"
    default_message = "The message does not match its contract."


class MalformedJsonError(ApplicationError):
    status_code = 400
    code = "malformed_json"
    default_message = "The body is not valid JSON."


class UnknownTopicError(ApplicationError):
    status_code = 400
    code = "unknown_topic"
    default_message = "No contract is known for this topic."


# --- JSON on the wire -------------------------------------------------------

def parse_json(body: bytes) -> Any:
    """Decodes a wire body; numbers with a fraction become ``Decimal``, NaN/Infinity are refused."""

    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJsonError(details={"reason": str(exc)[:200]}) from None


def encode_json(data: Any) -> bytes:
    """The bytes a message travels as: compact, keys sorted so a retry sends the same bytes.

    ``DjangoJSONEncoder`` writes ``Decimal`` as a string ("199.00", which the
    contracts accept) and datetimes as ISO 8601, so no float is ever produced.
    """
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode()


def to_json_types(data: Any) -> Any:
    """``data`` as it looks after one trip over the wire (Decimals and dates as strings)."""
    return json.loads(encode_json(data))


def body_sha256(data: Any) -> str:
    """Fingerprint of a parsed body, independent of key order and whitespace.

    The inbox compares it to tell a genuine retry from a reused idempotency key,
    and the local and HTTP adapters both compute it this way.
    """
    return hashlib.sha256(encode_json(data)).hexdigest()


# --- Field types ------------------------------------------------------------

class MoneyField(serializers.DecimalField):
    """A number or decimal string in, ``Decimal`` out (at most 4 decimal places, 15 whole digits)."""

    default_error_messages = {"float": "Send a decimal string or an exact number, not a binary float."}

    def __init__(self, **kwargs):
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(max_digits=19, decimal_places=None, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("float")
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            self.fail("max_decimal_places", max_decimal_places=4)
        if value.adjusted() >= 15:
            self.fail("max_whole_digits", max_whole_digits=15)
        return value


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(regex=r"^[A-Z]{3}$", max_length=3,
                         error_messages={"invalid": "An ISO 4217 code in capitals, e.g. USD."}, **kwargs)


def _id(**kwargs) -> serializers.CharField:
    """Every id on the wire is a string."""
    return serializers.CharField(max_length=255, **kwargs)


def _optional(field_class, *args, **kwargs):
    return field_class(*args, required=False, allow_null=True, **kwargs)


class OpenSerializer(serializers.Serializer):
    """An object whose known keys are checked and whose other keys pass through.

    The spec's ``metadata`` objects end with ``[key: string]: unknown``.
    """

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        extras = {key: value for key, value in data.items() if key not in self.fields}
        return {**extras, **validated}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(required=False)


class ErrorSerializer(serializers.Serializer):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error = ErrorDetailSerializer()


PRODUCT_TYPES = ["course", "program", "class"]
REVENUE_EVENT_TYPES = ["course_sale", "program_sale", "subscription_renewal", "refund"]
LMS_SOURCE = ["lms"]
# 002 connector 2 names the LMS "cadence-lms"; "lms" is what 000 calls it elsewhere.
ENROLLMENT_STATUS_SOURCES = ["lms", "cadence-lms"]


# --- 6.1.1 Token validation (synchronous) -----------------------------------

class ValidateTokenRequestSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=8192, trim_whitespace=True)


class ValidatedUserSerializer(serializers.Serializer):
    id = _id()
    email = serializers.EmailField()
    commerceRoles = serializers.ListField(child=serializers.CharField())


class TokenErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(["INVALID_TOKEN", "EXPIRED_TOKEN", "REVOKED_TOKEN"])
    message = serializers.CharField()


class ValidateTokenResponseSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    user = ValidatedUserSerializer(required=False)
    error = TokenErrorSerializer(required=False)


# --- 6.1.2 Catalog sync -----------------------------------------------------

class CatalogProductMetadataSerializer(OpenSerializer):
    departmentId = _optional(_id)
    programId = _optional(_id)
    durationWeeks = _optional(serializers.IntegerField, min_value=0)
    thumbnailUrl = _optional(serializers.CharField, max_length=2048)


class CatalogSyncProductSerializer(serializers.Serializer):
    action = serializers.ChoiceField(["upsert", "archive"])
    externalId = _id()
    type = serializers.ChoiceField(PRODUCT_TYPES)
    name = serializers.CharField(max_length=255)
    description = _optional(serializers.CharField, allow_blank=True, max_length=20000)
    suggestedPrice = MoneyField(min_value=Decimal("0"))
    currency = CurrencyField()
    metadata = CatalogProductMetadataSerializer(required=False, allow_null=True)


class CatalogSyncRequestSerializer(serializers.Serializer):
    source = serializers.ChoiceField(LMS_SOURCE)
    idempotencyKey = _id()
    products = CatalogSyncProductSerializer(many=True, allow_empty=False)
    signature = _optional(serializers.CharField, allow_blank=True, max_length=512)


class CatalogSyncResultSerializer(serializers.Serializer):
    externalId = _id()
    productId = _id(allow_blank=True)
    status = serializers.ChoiceField(["created", "updated", "archived", "failed"])
    error = serializers.CharField(required=False)


class CatalogSyncResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    processed = serializers.IntegerField(min_value=0)
    results = CatalogSyncResultSerializer(many=True)


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

    def validate(self, attrs):
        total = sum((split["amount"] for split in attrs["splits"]), Decimal("0"))
        if total != attrs["totalAmount"]:
            raise serializers.ValidationError(
                {"splits": [f"The splits sum to {total}, not totalAmount {attrs['totalAmount']}."]})
        return attrs


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


# --- 6.1.4 Role grant (and its revocation) -----------------------------------

COMMERCE_GRANTABLE_ROLES = ["payee", "commerce-admin"]


class GrantRoleMetadataSerializer(OpenSerializer):
    lmsUserId = _id()
    courseIds = serializers.ListField(child=_id(), required=False)


class GrantRoleRequestSerializer(serializers.Serializer):
    """The body of ``POST /api/v1/users/{userId}/roles``."""

    role = serializers.ChoiceField(COMMERCE_GRANTABLE_ROLES)
    reason = serializers.CharField(max_length=1000)
    metadata = GrantRoleMetadataSerializer(required=False, allow_null=True)


class RoleGrantMessageSerializer(GrantRoleRequestSerializer):
    """The outbox message: the body plus ``userId``, which travels in the URL path."""

    userId = _id()


class RevokeRoleRequestSerializer(serializers.Serializer):
    """The body of ``DELETE /api/v1/users/{userId}/roles/{role}``."""

    reason = serializers.CharField(max_length=1000)


class RoleRevokeMessageSerializer(RevokeRoleRequestSerializer):
    userId = _id()
    role = serializers.ChoiceField(COMMERCE_GRANTABLE_ROLES)


class GrantRoleUserSerializer(serializers.Serializer):
    id = _id()
    commerceRoles = serializers.ListField(child=serializers.CharField())


class GrantRoleResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    user = GrantRoleUserSerializer()


# --- 6.2.1 SSO user look-up (synchronous) -----------------------------------

class SSOUserDataSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    lmsUserId = _id(required=False)
    userTypes = serializers.ListField(child=serializers.CharField(), required=False)
    hasActiveEnrollments = serializers.BooleanField(required=False)


class SSOUserResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = SSOUserDataSerializer()


# --- 6.2.2 Entitlement grant / revoke (plus pending_approval) ---------------

class EntitlementItemMetadataSerializer(OpenSerializer):
    orderId = _id()
    transactionId = _id(allow_blank=True)
    amount = MoneyField(min_value=Decimal("0"))
    currency = CurrencyField()


class EntitlementItemSerializer(serializers.Serializer):
    productType = serializers.ChoiceField(PRODUCT_TYPES)
    externalId = _id()
    grantedAt = serializers.DateTimeField()
    expiresAt = _optional(serializers.DateTimeField)
    # The Commerce order line, echoed in enrollment.status (002 connector 2 `orderItemId`).
    orderItemId = _optional(_id)
    metadata = EntitlementItemMetadataSerializer(required=False, allow_null=True)


class EntitlementGrantRequestSerializer(serializers.Serializer):
    event = serializers.ChoiceField(["entitlement.granted", "entitlement.revoked"])
    idempotencyKey = _id()
    orderId = _id()
    commerceUserId = _id()
    email = serializers.EmailField()
    items = EntitlementItemSerializer(many=True, allow_empty=False)
    signature = _optional(serializers.CharField, allow_blank=True, max_length=512)


class EntitlementResultSerializer(serializers.Serializer):
    externalId = _id()
    # `revoked` answers an entitlement.revoked item; the spec lists only grant outcomes.
    status = serializers.ChoiceField(["granted", "already_enrolled", "pending_approval", "revoked", "failed"])
    enrollmentId = _id(required=False)
    orderItemId = _id(required=False)
    error = serializers.CharField(required=False)


class EntitlementGrantResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    results = EntitlementResultSerializer(many=True)
    lmsUserId = _id()


# --- 6.2.3 Catalog export (synchronous) -------------------------------------

class CatalogExportQuerySerializer(serializers.Serializer):
    updatedSince = serializers.DateTimeField(required=False)
    type = serializers.ChoiceField(PRODUCT_TYPES, required=False)
    departmentId = _id(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    cursor = serializers.CharField(max_length=1024, required=False)


class CatalogExportMetadataSerializer(OpenSerializer):
    departmentId = _id()
    departmentName = serializers.CharField()
    instructorName = serializers.CharField(required=False)
    durationWeeks = serializers.IntegerField(required=False)
    thumbnailUrl = serializers.CharField(required=False)


class CatalogExportProductSerializer(serializers.Serializer):
    externalId = _id()
    type = serializers.ChoiceField(PRODUCT_TYPES)
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    suggestedPrice = MoneyField()
    currency = CurrencyField()
    status = serializers.ChoiceField(["published", "archived"])
    metadata = CatalogExportMetadataSerializer()
    updatedAt = serializers.DateTimeField()


class CatalogExportPaginationSerializer(serializers.Serializer):
    nextCursor = serializers.CharField(required=False)
    hasMore = serializers.BooleanField()


class CatalogExportDataSerializer(serializers.Serializer):
    products = CatalogExportProductSerializer(many=True)
    pagination = CatalogExportPaginationSerializer()


class CatalogExportResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = CatalogExportDataSerializer()


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


# --- Identity erasure (Commerce -> LMS) --------------------------------------

class UserErasedSerializer(serializers.Serializer):
    idempotencyKey = _id()
    commerceUserId = _id()
    erasedAt = serializers.DateTimeField()


class UserErasedResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()


# --- Topic -> contract -------------------------------------------------------

TOPIC_CONTRACTS: dict[str, tuple[type[serializers.Serializer], type[serializers.Serializer]]] = {
    "catalog.sync": (CatalogSyncRequestSerializer, CatalogSyncResponseSerializer),
    "revenue.events": (RevenueEventRequestSerializer, RevenueEventResponseSerializer),
    "revenue.releases": (RevenueReleasesRequestSerializer, RevenueReleasesResponseSerializer),
    "enrollment.status": (EnrollmentStatusSerializer, EnrollmentStatusResponseSerializer),
    "entitlement": (EntitlementGrantRequestSerializer, EntitlementGrantResponseSerializer),
    "identity.user_erased": (UserErasedSerializer, UserErasedResponseSerializer),
    "identity.role_grant": (RoleGrantMessageSerializer, GrantRoleResponseSerializer),
    "identity.role_revoke": (RoleRevokeMessageSerializer, GrantRoleResponseSerializer),
}

PROVIDER_CONTRACTS: dict[str, tuple[type[serializers.Serializer], type[serializers.Serializer]]] = {
    "identity.validate_token": (ValidateTokenRequestSerializer, ValidateTokenResponseSerializer),
    "lms.sso_user": (serializers.Serializer, SSOUserResponseSerializer),
    "lms.catalog_export": (CatalogExportQuerySerializer, CatalogExportResponseSerializer),
}

if set(TOPIC_CONTRACTS) != set(routes.TOPICS):  # pragma: no cover - caught at import in every test run
    raise RuntimeError("every topic in routes.TOPICS needs exactly one contract")


def request_serializer(topic: str) -> type[serializers.Serializer]:
    try:
        return TOPIC_CONTRACTS[topic][0]
    except KeyError:
        raise UnknownTopicError(details={"topic": topic}) from None


def response_serializer(topic: str) -> type[serializers.Serializer]:
    try:
        return TOPIC_CONTRACTS[topic][1]
    except KeyError:
        raise UnknownTopicError(details={"topic": topic}) from None


def has_idempotency_key_field(topic: str) -> bool:
    return "idempotencyKey" in request_serializer(topic)().fields


def validate_message(topic: str, payload: Any) -> dict:
    """``payload`` checked against the topic's request contract: Decimals, datetimes, plain dicts.

    Raises :class:`InvalidPayloadError` (400 ``invalid_payload``) with the field errors as details.
    """
    serializer_class = request_serializer(topic)
    float_path = _find_float(payload)
    if float_path is not None:
        raise InvalidPayloadError(details={float_path or "payload": ["A binary float is not allowed; "
                                                                    "use Decimal or a decimal string."]})
    serializer = serializer_class(data=payload)
    if not serializer.is_valid():
        raise InvalidPayloadError(details=_plain(serializer.errors))
    return _plain(serializer.validated_data)


def validate_query(name: str, params: dict) -> dict:
    """Query parameters of a synchronous provider call, checked against its contract."""
    serializer = PROVIDER_CONTRACTS[name][0](data=params)
    if not serializer.is_valid():
        raise InvalidPayloadError(details=_plain(serializer.errors))
    return _plain(serializer.validated_data)


def _find_float(data: Any, path: str = "") -> str | None:
    if isinstance(data, float):
        return path
    if isinstance(data, dict):
        items = ((f"{path}.{key}" if path else str(key), value) for key, value in data.items())
    elif isinstance(data, list | tuple):
        items = ((f"{path}[{index}]", value) for index, value in enumerate(data))
    else:
        return None
    for item_path, value in items:
        found = _find_float(value, item_path)
        if found is not None:
            return found
    return None


def _plain(data: Any) -> Any:
    """DRF's nested ``OrderedDict``/``ReturnDict``/``ErrorDetail`` as plain dicts, lists and strings."""
    if isinstance(data, dict):
        return {str(key): _plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(value) for value in data]
    if isinstance(data, serializers.ErrorDetail):
        return str(data)
    return data
