"""The LMS's contracts (the LMS receives or answers): SSO user look-up (6.2.1), entitlements (6.2.2),
the catalog export (6.2.3) and the identity-migration report."""

from datetime import datetime
from decimal import Decimal

from rest_framework import serializers

from integration.contracts.base import (
    LMS_SOURCE,
    PRODUCT_TYPES,
    CurrencyField,
    MoneyField,
    OpenSerializer,
    WireModel,
    _id,
    _optional,
)
from integration.contracts.base import dataclasses as _dc

frozen = _dc.dataclass(frozen=True)



# --- 6.2.1 SSO user look-up (synchronous) -----------------------------------

class SSOUserDataSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    lmsUserId = _id(required=False)
    userTypes = serializers.ListField(child=serializers.CharField(), required=False)
    hasActiveEnrollments = serializers.BooleanField(required=False)


class SSOUserResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = SSOUserDataSerializer()



@frozen
class SsoUser(WireModel):
    """6.2.1's ``data``; the route's envelope adds ``{"success": true, "data": ...}``."""

    exists: bool
    lms_user_id: str | None = None
    user_types: tuple[str, ...] | None = None
    has_active_enrollments: bool | None = None


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



@frozen
class EntitlementItem(WireModel):
    product_type: str
    external_id: str
    granted_at: datetime
    expires_at: datetime | None = None
    order_item_id: str | None = None
    metadata: dict | None = None


@frozen
class Entitlement(WireModel):
    """Topic ``entitlement``: spec 6.2.2's request (``entitlement.granted`` or ``entitlement.revoked``)."""

    event: str
    idempotency_key: str
    order_id: str
    commerce_user_id: str
    email: str
    items: tuple[EntitlementItem, ...]
    signature: str | None = None


@frozen
class EntitlementResult(WireModel):
    external_id: str
    status: str
    enrollment_id: str | None = None
    order_item_id: str | None = None
    error: str | None = None


@frozen
class EntitlementAnswer(WireModel):
    success: bool
    results: tuple[EntitlementResult, ...]
    lms_user_id: str


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
    suggestedPrice = MoneyField(coerce_to_string=False)  # spec 6.2.3 writes a JSON number
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



@frozen
class CatalogExportProduct(WireModel):
    external_id: str
    type: str
    name: str
    description: str
    suggested_price: Decimal
    currency: str
    status: str
    metadata: dict
    updated_at: datetime


@frozen
class CatalogExportPagination(WireModel):
    has_more: bool
    next_cursor: str | None = None


@frozen
class CatalogExportPage(WireModel):
    """6.2.3's ``data``; the route's envelope adds ``{"success": true, "data": ...}``."""

    products: tuple[CatalogExportProduct, ...]
    pagination: CatalogExportPagination


# --- Identity migration report (Commerce asks the LMS before phase 3) ----------

class LegacyReportSerializer(serializers.Serializer):
    legacyAccounts = serializers.IntegerField(min_value=0)
    withPassword = serializers.IntegerField(min_value=0)
    migrated = serializers.IntegerField(min_value=0)
    duplicateEmails = serializers.ListField(child=serializers.EmailField())


@frozen
class LegacyReport(WireModel):
    legacy_accounts: int
    with_password: int
    migrated: int
    duplicate_emails: tuple[str, ...] = ()


# --- LearningPort: personal data, course look-up, access check, interaction status ---------
# (owner: learning; the answers of integration/ports/learning.py's newer methods)

class PersonalEnrollmentSerializer(serializers.Serializer):
    enrollmentId = _id()
    productType = serializers.ChoiceField(PRODUCT_TYPES)
    externalId = _id()
    title = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField()
    grantedAt = serializers.DateTimeField()
    expiresAt = _optional(serializers.DateTimeField)
    completedAt = _optional(serializers.DateTimeField)
    orderId = _optional(_id, allow_blank=True)
    lessonsDone = serializers.IntegerField(min_value=0)
    lessonsTotal = serializers.IntegerField(min_value=0)


class PersonalCertificateSerializer(serializers.Serializer):
    code = _id()
    title = serializers.CharField()
    issuedAt = serializers.DateTimeField()
    url = serializers.CharField()


class PersonalExamAttemptSerializer(serializers.Serializer):
    examTitle = serializers.CharField()
    courseTitle = serializers.CharField()
    number = serializers.IntegerField(min_value=1)
    scorePercent = _optional(MoneyField)
    passed = serializers.BooleanField(allow_null=True, required=False)
    submittedAt = serializers.DateTimeField()


class LearningPersonalDataSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    lmsUserId = _optional(_id)
    email = _optional(serializers.CharField)
    userTypes = serializers.ListField(child=serializers.CharField(), required=False)
    enrollments = PersonalEnrollmentSerializer(many=True, required=False)
    certificates = PersonalCertificateSerializer(many=True, required=False)
    examAttempts = PersonalExamAttemptSerializer(many=True, required=False)
    lessonsCompleted = serializers.IntegerField(min_value=0, required=False)


class PersonalDataQuerySerializer(serializers.Serializer):
    commerceUserId = _id()


@frozen
class PersonalEnrollment(WireModel):
    enrollment_id: str
    product_type: str
    external_id: str
    title: str
    status: str
    source: str
    granted_at: datetime
    lessons_done: int
    lessons_total: int
    expires_at: datetime | None = None
    completed_at: datetime | None = None
    order_id: str | None = None


@frozen
class PersonalCertificate(WireModel):
    code: str
    title: str
    issued_at: datetime
    url: str


@frozen
class PersonalExamAttempt(WireModel):
    exam_title: str
    course_title: str
    number: int
    submitted_at: datetime
    score_percent: Decimal | None = None
    passed: bool | None = None


@frozen
class LearningPersonalData(WireModel):
    """What the LMS holds about one Commerce user (part of the store's data download)."""

    exists: bool
    lms_user_id: str | None = None
    email: str | None = None
    user_types: tuple[str, ...] = ()
    enrollments: tuple[PersonalEnrollment, ...] = ()
    certificates: tuple[PersonalCertificate, ...] = ()
    exam_attempts: tuple[PersonalExamAttempt, ...] = ()
    lessons_completed: int = 0


class CourseStaffRefSerializer(serializers.Serializer):
    lmsUserId = _id()
    commerceUserId = _optional(_id)
    email = serializers.CharField()
    role = serializers.ChoiceField(["instructor", "content-creator"])


class CourseInfoSerializer(serializers.Serializer):
    courseId = _id()
    title = serializers.CharField()
    status = serializers.ChoiceField(["draft", "published", "archived"])
    departmentId = _id()
    departmentName = serializers.CharField()
    suggestedPrice = MoneyField()
    currency = CurrencyField()
    staff = CourseStaffRefSerializer(many=True)


class CourseGetQuerySerializer(serializers.Serializer):
    externalId = _id()


@frozen
class CourseStaffRef(WireModel):
    lms_user_id: str
    email: str
    role: str
    commerce_user_id: str | None = None


@frozen
class CourseInfo(WireModel):
    """A course as the revenue side needs it: department, title and staff with their Commerce ids."""

    course_id: str
    title: str
    status: str
    department_id: str
    department_name: str
    suggested_price: Decimal
    currency: str
    staff: tuple[CourseStaffRef, ...] = ()


class AccessCheckQuerySerializer(serializers.Serializer):
    lmsUserId = _id()
    right = serializers.CharField(max_length=100)
    courseId = _optional(_id)


class AccessAnswerSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()


@frozen
class AccessAnswer(WireModel):
    allowed: bool


class InteractionCountsSerializer(serializers.Serializer):
    discussionReplies = serializers.IntegerField(min_value=0)
    assignmentsGraded = serializers.IntegerField(min_value=0)
    liveSessionMinutes = serializers.IntegerField(min_value=0)
    manualVerification = serializers.BooleanField()


class InteractionStatusSerializer(serializers.Serializer):
    enrollmentId = _id()
    instructorId = _optional(_id)
    instructorCommerceUserId = _optional(_id)
    required = InteractionCountsSerializer()
    actual = InteractionCountsSerializer()
    verifiedBy = _optional(_id)
    eligible = serializers.BooleanField()


class InteractionStatusQuerySerializer(serializers.Serializer):
    enrollmentId = _id()


@frozen
class InteractionCounts(WireModel):
    discussion_replies: int
    assignments_graded: int
    live_session_minutes: int
    manual_verification: bool


@frozen
class InteractionStatus(WireModel):
    """002's ``InstructorInteractionRequirement`` for one enrollment: required, actual, eligible."""

    enrollment_id: str
    required: InteractionCounts
    actual: InteractionCounts
    eligible: bool
    instructor_id: str | None = None
    instructor_commerce_user_id: str | None = None
    verified_by: str | None = None


class EnrollmentsCompletedQuerySerializer(serializers.Serializer):
    commerceUserId = _id()
    orderItemIds = serializers.ListField(child=_id(), allow_empty=False, max_length=500)


class OrderItemCompletionSerializer(serializers.Serializer):
    orderItemId = _id()
    completed = serializers.BooleanField()
    enrollmentId = _optional(_id)
    status = _optional(serializers.CharField)
    completedAt = _optional(serializers.DateTimeField)


class EnrollmentsCompletedSerializer(serializers.Serializer):
    items = OrderItemCompletionSerializer(many=True)


@frozen
class OrderItemCompletion(WireModel):
    """One order line of the buyer: whether the enrollment it gave is completed (status or progress)."""

    order_item_id: str
    completed: bool
    enrollment_id: str | None = None
    status: str | None = None
    completed_at: datetime | None = None


@frozen
class EnrollmentsCompleted(WireModel):
    """One entry per asked order item id, in the order asked (a line the LMS never saw: ``completed`` false)."""

    items: tuple[OrderItemCompletion, ...] = ()


# --- enrollment.lifecycle (learning -> revenue) ------------------------------------------
# {source: "lms", idempotencyKey, event, payload}; the payload's fields depend on the event.

LIFECYCLE_EVENTS = ["enrollment.activated", "enrollment.completed", "enrollment.interaction_met",
                    "enrollment.revoked", "enrollment.expired"]
LIFECYCLE_REVOKE_REASONS = ["refund", "rejected", "admin"]


class EnrollmentLifecyclePayloadSerializer(OpenSerializer):
    enrollmentId = _id()
    lmsUserId = _id()
    commerceUserId = _optional(_id)
    productType = serializers.ChoiceField(PRODUCT_TYPES)
    externalId = _id()
    courseId = _optional(_id)
    programId = _optional(_id)
    orderId = _optional(_id)
    orderItemId = _optional(_id)
    source = serializers.ChoiceField(["manual", "commerce", "import"])
    # enrollment.activated
    amount = _optional(MoneyField, min_value=Decimal("0"))
    grossAmount = _optional(MoneyField, min_value=Decimal("0"))
    processorFee = _optional(MoneyField, min_value=Decimal("0"))
    currency = _optional(CurrencyField)
    transactionId = _optional(_id, allow_blank=True)
    instructorCommerceUserId = _optional(_id)
    activatedAt = _optional(serializers.DateTimeField)
    # enrollment.completed (002 connector 3) and enrollment.interaction_met
    userId = _optional(_id)
    instructorId = _optional(_id)
    contentCreatorId = _optional(_id)
    contentCreatorCommerceUserId = _optional(_id)
    completedAt = _optional(serializers.DateTimeField)
    grade = _optional(MoneyField)
    certificateCode = _optional(_id)
    interactionMet = _optional(serializers.BooleanField)
    metAt = _optional(serializers.DateTimeField)
    # enrollment.revoked / enrollment.expired
    reason = _optional(serializers.ChoiceField, LIFECYCLE_REVOKE_REASONS)
    refundAmount = _optional(MoneyField, min_value=Decimal("0"))
    revokedAt = _optional(serializers.DateTimeField)
    expiredAt = _optional(serializers.DateTimeField)

    REQUIRED_BY_EVENT = {
        "enrollment.activated": ["activatedAt"],
        "enrollment.completed": ["completedAt", "interactionMet"],
        "enrollment.interaction_met": ["metAt"],
        "enrollment.revoked": ["reason", "revokedAt"],
        "enrollment.expired": ["expiredAt"],
    }


class EnrollmentLifecycleSerializer(serializers.Serializer):
    source = serializers.ChoiceField(LMS_SOURCE)
    idempotencyKey = _id()
    event = serializers.ChoiceField(LIFECYCLE_EVENTS)
    payload = EnrollmentLifecyclePayloadSerializer()

    def validate(self, attrs):
        needed = EnrollmentLifecyclePayloadSerializer.REQUIRED_BY_EVENT[attrs["event"]]
        missing = [name for name in needed if attrs["payload"].get(name) is None]
        if missing:
            raise serializers.ValidationError({"payload": {name: ["Required for this event."] for name in missing}})
        return attrs


class EnrollmentLifecycleResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.CharField(required=False)


@frozen
class EnrollmentLifecycle(WireModel):
    """Topic ``enrollment.lifecycle``; ``payload`` stays the wire dict (its fields depend on ``event``)."""

    source: str
    idempotency_key: str
    event: str
    payload: dict


@frozen
class EnrollmentLifecycleAnswer(WireModel):
    success: bool
    status: str | None = None



# --- LearningPort.entitlement_lines: what `reconcile enrollments` compares with the paid order lines ---------
# (owner: learning; added for issue 12's reconciliation)

ENTITLEMENT_LINES_MAX_LIMIT = 1000


class EntitlementLinesQuerySerializer(serializers.Serializer):
    after = _id(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=ENTITLEMENT_LINES_MAX_LIMIT, required=False)


class EntitlementLineRefSerializer(serializers.Serializer):
    orderId = _id()
    orderItemId = _id(allow_blank=True)
    productType = serializers.ChoiceField(PRODUCT_TYPES)
    externalId = _id()
    state = serializers.ChoiceField(["granted", "revoked"])
    enrollmentId = _optional(_id)
    enrollmentStatus = _optional(serializers.ChoiceField,
                                 ["pending", "active", "completed", "expired", "revoked", "rejected"])
    createdEnrollment = serializers.BooleanField()


class EntitlementLinePageSerializer(serializers.Serializer):
    lines = EntitlementLineRefSerializer(many=True)
    nextCursor = _optional(_id)


@frozen
class EntitlementLineRef(WireModel):
    """One Commerce order line as the LMS holds it: granted or revoked, and the enrollment it opened or joined."""

    order_id: str
    order_item_id: str
    product_type: str
    external_id: str
    state: str
    created_enrollment: bool
    enrollment_id: str | None = None
    enrollment_status: str | None = None


@frozen
class EntitlementLinePage(WireModel):
    """One keyset page of the LMS's entitlement lines, oldest first; ``next_cursor`` asks the next."""

    lines: tuple[EntitlementLineRef, ...] = ()
    next_cursor: str | None = None


# --- lms.staff_role_changed (learning -> revenue) ------------------------------------------
# A department membership whose role maps to a Commerce role (billing-admin -> commerce-admin, with
# BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN) was granted or removed; ``holdsRole`` is whether the person still
# holds that role in any department afterwards. Answered like enrollment.lifecycle ({success, status?}).

class StaffRoleChangedSerializer(serializers.Serializer):
    source = serializers.ChoiceField(LMS_SOURCE)
    idempotencyKey = _id()
    event = serializers.ChoiceField(["membership.granted", "membership.revoked"])
    lmsUserId = _id()
    commerceUserId = _id()
    departmentId = _id()
    role = serializers.ChoiceField(["billing-admin"])
    holdsRole = serializers.BooleanField()
    changedAt = serializers.DateTimeField()


@frozen
class StaffRoleChanged(WireModel):
    source: str
    idempotency_key: str
    event: str
    lms_user_id: str
    commerce_user_id: str
    department_id: str
    role: str
    holds_role: bool
    changed_at: datetime
