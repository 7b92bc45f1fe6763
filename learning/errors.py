"""The errors the LMS side raises; each becomes the JSON error body on the API or a page on the site."""

from integration.errors import (
    ApplicationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
)

# The legacy LMS login answers exactly as the store login does: the same two errors, declared once there.
from integration.errors import InvalidCredentials as InvalidCredentials
from integration.errors import LoginLocked as LoginLocked


class SsoNotEnabled(ApplicationError):
    status_code = 403
    code = "sso_not_enabled"
    default_message = ("The store's single sign-on is not switched on yet (identity migration phase 1). "
                       "Existing LMS accounts log in with their LMS password.")


class InvalidCommerceToken(ApplicationError):
    """The token did not validate; the spec (6.1.1) fixes the three upper-case codes."""

    status_code = 401
    code = "INVALID_TOKEN"
    default_message = "Your store session is not valid any more. Please log in again."


class ExpiredCommerceToken(InvalidCommerceToken):
    code = "EXPIRED_TOKEN"


class RevokedCommerceToken(InvalidCommerceToken):
    code = "REVOKED_TOKEN"


# The identity port's error code → the error the LMS raises for it.
COMMERCE_TOKEN_ERRORS: dict[str, type[InvalidCommerceToken]] = {
    error.code: error for error in (InvalidCommerceToken, ExpiredCommerceToken, RevokedCommerceToken)}


class LmsAccountInactive(ApplicationError):
    status_code = 403
    code = "account_inactive"
    default_message = "This LMS account is not active."


class AccountMoved(ApplicationError):
    status_code = 409
    code = "account_moved"
    default_message = "Your LMS account has moved to the store: log in at the store with the same password."


class MigrationRefused(ApplicationError):
    status_code = 409
    code = "migration_refused"
    default_message = "The identity migration step cannot run now."


# --- Organisation, content, enrollments, progress ---------------------------


class AccessDenied(ForbiddenError):
    code = "lms_access_denied"
    default_message = "You do not have the access right this needs in this department."


class DepartmentNotFound(NotFoundError):
    code = "department_not_found"
    default_message = "No such department."


class CourseNotFound(NotFoundError):
    code = "course_not_found"
    default_message = "No such course."


class ProgramNotFound(NotFoundError):
    code = "program_not_found"
    default_message = "No such program."


class ClassNotFound(NotFoundError):
    code = "class_not_found"
    default_message = "No such class."


class ExamNotFound(NotFoundError):
    code = "exam_not_found"
    default_message = "No such exam."


class EnrollmentNotFound(NotFoundError):
    code = "enrollment_not_found"
    default_message = "No such enrollment."


class LmsUserNotFound(NotFoundError):
    code = "lms_user_not_found"
    default_message = "Nobody with this email is known to the store or the LMS."


class LessonNotInCourse(UnprocessableError):
    code = "lesson_not_in_course"
    default_message = "This lesson does not belong to the enrollment's course."


class NotEnrolled(ForbiddenError):
    code = "not_enrolled"
    default_message = "You have no active enrollment that gives access to this course."


class AttemptLimitReached(ConflictError):
    code = "attempt_limit_reached"
    default_message = "You have used every attempt this exam allows."


class InvalidAnswers(UnprocessableError):
    code = "invalid_answers"
    default_message = "The answers do not match the exam's questions."


class ExamInvalid(UnprocessableError):
    code = "exam_invalid"
    default_message = "The exam or question is not valid."


class ExamHasAttempts(ConflictError):
    code = "exam_has_attempts"
    default_message = ("Learners have already taken this exam, so its questions can no longer change; "
                       "create a new exam instead.")


class AttemptNotAwaitingGrading(ConflictError):
    code = "attempt_not_awaiting_grading"
    default_message = "This attempt has no short answers waiting to be graded."


class EnrollmentNotPending(ConflictError):
    code = "enrollment_not_pending"
    default_message = "Only a pending enrollment can be approved or rejected."


class EnrollmentNotActive(ConflictError):
    code = "enrollment_not_active"
    default_message = "This enrollment is not active."


class AlreadyEnrolled(ConflictError):
    code = "already_enrolled"
    default_message = "This person already has a live enrollment in it."


class ClassFull(ConflictError):
    code = "class_full"
    default_message = "This class has no seat left."


class NotPublished(ConflictError):
    code = "not_published"
    default_message = "Only a published course or program can take enrollments."


class InvalidStatusChange(ConflictError):
    code = "invalid_status_change"
    default_message = "This status change is not allowed."


class DepartmentInvalid(UnprocessableError):
    code = "department_invalid"
    default_message = "The department cannot be changed this way."


class EmailErased(UnprocessableError):
    code = "email_erased"
    default_message = "This person asked for their data to be erased; they cannot be enrolled again from a file."


class InvalidCursor(ApplicationError):
    status_code = 400
    code = "invalid_cursor"
    default_message = "The cursor is not one this list gave out."


class EntitlementLineBusy(ConflictError):
    """An order line another delivery held when this one claimed it was gone when read: retry (409)."""

    code = "entitlement_line_busy"
    default_message = "Another delivery of this order line was in progress; retry."
