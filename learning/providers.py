"""The LMS's side of integration: the ``LearningPort`` implementation (``integration/ports/learning.py``).

Registered in ``LearningConfig.ready()``; the HTTP endpoints of the same operations
(``learning/api/views.py``) answer ``port_wire_answer`` of these methods, so the
in-process and HTTP transports give the same shape.
"""

from integration.contracts.learning import (
    AccessAnswer,
    CatalogExportPage,
    CourseInfo,
    EnrollmentsCompleted,
    EntitlementLinePage,
    InteractionStatus,
    LearningPersonalData,
    LegacyReport,
    SsoUser,
)
from integration.ports.learning import LearningPort
from learning import selectors


class LocalLearning(LearningPort):
    def sso_user(self, *, commerce_user_id: str) -> SsoUser:
        return SsoUser.from_wire(selectors.sso_user_lookup(commerce_user_id=commerce_user_id)["data"])

    def catalog_export(self, *, updated_since: str | None = None, type: str | None = None,
                       department_id: str | None = None, limit: int | None = None,
                       cursor: str | None = None) -> CatalogExportPage:
        # The export's query lives with the LMS's catalog (spec 6.2.3), as learning.selectors.catalog_export_page.
        from learning.selectors import catalog_export_page

        return CatalogExportPage.from_wire(catalog_export_page(
            updated_since=updated_since, product_type=type, department_id=department_id, limit=limit,
            cursor=cursor))

    def legacy_report(self) -> LegacyReport:
        return LegacyReport.from_wire(selectors.legacy_report())

    def personal_data(self, *, commerce_user_id: str) -> LearningPersonalData:
        return LearningPersonalData.from_wire(selectors.personal_data(commerce_user_id=commerce_user_id))

    def course_get(self, *, external_id: str) -> CourseInfo:
        return CourseInfo.from_wire(selectors.course_info(external_id=external_id))

    def access_check(self, *, lms_user_id: str, right: str, course_id: str | None = None) -> AccessAnswer:
        from learning.permissions import access_check_by_ids

        return AccessAnswer(allowed=access_check_by_ids(lms_user_id=lms_user_id, right=right, course_id=course_id))

    def interaction_status(self, *, enrollment_id: str) -> InteractionStatus:
        from learning.errors import EnrollmentNotFound
        from learning.models import Enrollment

        try:
            enrollment = (Enrollment.objects.select_related("course", "instructor")
                          .filter(pk=enrollment_id).first())
        except ValueError:  # not a UUID
            enrollment = None
        if enrollment is None:
            raise EnrollmentNotFound(details={"enrollmentId": str(enrollment_id)})
        return selectors.interaction_status(enrollment=enrollment)

    def enrollments_completed(self, *, commerce_user_id: str, order_item_ids: list[str]) -> EnrollmentsCompleted:
        return EnrollmentsCompleted.from_wire(selectors.enrollments_completed(
            commerce_user_id=commerce_user_id, order_item_ids=order_item_ids))

    def entitlement_lines(self, *, after: str | None = None, limit: int | None = None) -> EntitlementLinePage:
        from integration.contracts.learning import ENTITLEMENT_LINES_MAX_LIMIT
        from learning.errors import InvalidCursor
        from learning.models import EntitlementLine

        limit = max(1, min(int(limit or 500), ENTITLEMENT_LINES_MAX_LIMIT))
        lines = EntitlementLine.objects.select_related("enrollment").order_by("id")
        if after:
            if not str(after).isdigit():
                raise InvalidCursor(details={"after": str(after)[:64]})
            lines = lines.filter(id__gt=int(after))
        rows = list(lines[:limit + 1])
        page = rows[:limit]
        return EntitlementLinePage.from_wire({
            "lines": [{"orderId": line.order_id, "orderItemId": line.order_item_id, "productType": line.product_type,
                       "externalId": line.external_id, "state": line.state, "createdEnrollment": line.created_enrollment,
                       "enrollmentId": str(line.enrollment_id) if line.enrollment_id else None,
                       "enrollmentStatus": line.enrollment.status if line.enrollment_id else None} for line in page],
            "nextCursor": str(page[-1].id) if len(rows) > limit else None})
