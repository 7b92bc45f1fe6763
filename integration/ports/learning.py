"""``LearningPort``: what Commerce and the LMS's other apps ask the learning app (served on the LMS side).

Declared here, implemented by ``learning/providers.py`` (``LocalLearning``, registered in
``LearningConfig.ready()``), served over HTTP at the paths of ``routes.PORT_CALLS["learning.*"]``.
"""

from abc import abstractmethod

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
from integration.ports.base import Port, port_for
from integration.routes import LMS


class LearningPort(Port):
    name = "learning"
    side = LMS

    @abstractmethod
    def sso_user(self, *, commerce_user_id: str) -> SsoUser:
        """Spec 6.2.1: does this Commerce user have an LMS account, and what kind."""

    @abstractmethod
    def catalog_export(self, *, updated_since: str | None = None, type: str | None = None,
                       department_id: str | None = None, limit: int | None = None,
                       cursor: str | None = None) -> CatalogExportPage:
        """Spec 6.2.3: one page of publishable courses and programs, oldest change first."""

    @abstractmethod
    def legacy_report(self) -> LegacyReport:
        """Legacy LMS accounts before identity phase 3: how many, and duplicate emails."""

    @abstractmethod
    def personal_data(self, *, commerce_user_id: str) -> LearningPersonalData:
        """What the LMS holds about this person (enrollments, progress, certificates), for the data download."""

    @abstractmethod
    def course_get(self, *, external_id: str) -> CourseInfo:
        """A course by its id (the catalog's ``externalId``): department, title, staff with Commerce ids and roles.

        ``course_not_found`` (404) when there is none.
        """

    @abstractmethod
    def access_check(self, *, lms_user_id: str, right: str, course_id: str | None = None) -> AccessAnswer:
        """The LMS's one permission function: does this LMS user hold ``right`` (on this course's department)?

        Without ``course_id``: whether the user holds it anywhere (e.g. a page listing what they may see).
        """

    @abstractmethod
    def interaction_status(self, *, enrollment_id: str) -> InteractionStatus:
        """002's instructor interaction requirement for one enrollment: required, actual, eligible."""

    @abstractmethod
    def enrollments_completed(self, *, commerce_user_id: str, order_item_ids: list[str]) -> EnrollmentsCompleted:
        """Per order item id of this buyer, whether the enrollment it gave is completed (status ``completed``,
        or the course's completion recorded): Commerce refuses a refund of a completed course.

        One entry per asked id, in the order asked; a line the LMS never granted (or another buyer's) is
        ``completed: false`` without an ``enrollmentId``.
        """

    @abstractmethod
    def entitlement_lines(self, *, after: str | None = None, limit: int | None = None) -> EntitlementLinePage:
        """Every Commerce order line the LMS has handled (granted or revoked, with the enrollment it opened or
        joined and that enrollment's status), oldest first, one keyset page after ``after``.

        What ``manage.py reconcile enrollments`` compares with the paid order lines (default 500, at most 1000).
        """


def learning_port() -> LearningPort:
    return port_for(LearningPort)
