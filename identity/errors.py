"""Identity's errors; each becomes the one JSON error body (or a form error on a page)."""

from integration.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError

# The store login and the legacy LMS login answer with the same two errors, declared once there.
from integration.errors import InvalidCredentials as InvalidCredentials
from integration.errors import LoginLocked as LoginLocked


class EmailNotVerified(ApplicationError):
    status_code = 400
    code = "email_not_verified"
    default_message = "Confirm your email address first: use the link we sent you, or ask for a new one."


class InvalidMfaToken(ApplicationError):
    status_code = 401
    code = "invalid_mfa_token"
    default_message = "The sign-in step has expired or is not valid; sign in again."


class InvalidMfaCode(ApplicationError):
    status_code = 400
    code = "invalid_mfa_code"
    default_message = "The authentication code is not valid."


class TokenRefused(ApplicationError):
    """A token that cannot be used; the subclasses say why (expired, revoked, reused)."""

    status_code = 401
    code = "invalid_token"
    default_message = "The token is not valid."


class TokenExpired(TokenRefused):
    code = "token_expired"
    default_message = "The token has expired; sign in again."


class TokenRevoked(TokenRefused):
    code = "token_revoked"
    default_message = "The token has been revoked; sign in again."


class TokenReused(TokenRefused):
    code = "token_reused"
    default_message = "This refresh token was already used, so its session has been ended; sign in again."


class InvalidEmail(ApplicationError):
    status_code = 400
    code = "invalid_email"
    default_message = "Not a valid email address."


class InvalidLmsUserId(ApplicationError):
    status_code = 400
    code = "invalid_lms_user_id"
    default_message = "lmsUserId is required."


class ConcurrentImport(ConflictError):
    code = "concurrent_import"
    default_message = "Another import of this account ran at the same time; retry."


class ReasonRequired(ApplicationError):
    status_code = 400
    code = "reason_required"
    default_message = "Say why: a reason is required."


class InvalidPhase(ApplicationError):
    status_code = 400
    code = "invalid_phase"
    default_message = "The phase is 1, 2 or 3."


class ServiceClientLocked(ApplicationError):
    status_code = 429
    code = "too_many_client_attempts"
    default_message = "Too many wrong secrets for this client from this address; try again later."


class SecretRequired(ApplicationError):
    status_code = 400
    code = "secret_required"
    default_message = "A secret is required."


class UserNotFound(NotFoundError):
    code = "user_not_found"
    default_message = "No such user."


class InvalidRole(ApplicationError):
    status_code = 400
    code = "invalid_role"
    default_message = "That role cannot be granted or revoked here."


class RoleNotGrantable(ForbiddenError):
    code = "role_not_grantable"
    default_message = "This caller may not grant or revoke that role."


class UserInactive(ConflictError):
    code = "user_inactive"
    default_message = "The account is not active."


class InvalidClient(ApplicationError):
    status_code = 401
    code = "invalid_client"
    default_message = "Unknown client or wrong secret."


class InvalidScope(ApplicationError):
    status_code = 400
    code = "invalid_scope"
    default_message = "Unknown scope."


class PhaseChangeRefused(ConflictError):
    code = "phase_change_refused"
    default_message = "The identity migration phase cannot change that way now."


class LmsReportUnavailable(PhaseChangeRefused):
    code = "lms_report_unavailable"
    default_message = "Could not get the LMS's legacy account report, so phase 3 cannot be checked."


class DuplicateLegacyEmails(PhaseChangeRefused):
    code = "duplicate_legacy_emails"
    default_message = "Some email addresses belong to more than one legacy LMS account."


class PhaseStepTooLarge(PhaseChangeRefused):
    code = "phase_step_too_large"
    default_message = "Phases change one step at a time."


class PhaseChanged(PhaseChangeRefused):
    code = "phase_changed"
    default_message = "The phase changed meanwhile; look again and retry."


class WrongPhase(ConflictError):
    code = "wrong_phase"
    default_message = "This is only allowed in identity migration phase 3."


class UnsupportedHash(ApplicationError):
    status_code = 400
    code = "unsupported_hash"
    default_message = "The password hash is neither raw bcrypt ($2a$/$2b$/$2y$) nor a Django hash."


class EmailConflictUnverified(ConflictError):
    code = "email_conflict_unverified"
    default_message = ("A Commerce account with this email exists but its address is not verified, "
                       "so the LMS account is not linked to it.")


class LmsUserConflict(ConflictError):
    code = "lms_user_conflict"
    default_message = "This LMS account or Commerce account is already linked to another one."
