"""Identity's errors; each becomes the one JSON error body (or a form error on a page)."""

from integration.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError


class InvalidCredentials(ApplicationError):
    status_code = 400
    code = "invalid_credentials"
    default_message = "The email address or password is incorrect."


class LoginLocked(ApplicationError):
    status_code = 429
    code = "too_many_login_attempts"
    default_message = "Too many failed sign-in attempts."


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
    """A refresh or logout token that cannot be used; codes: invalid_token, token_expired, token_revoked,
    token_reused."""

    status_code = 401
    code = "invalid_token"
    default_message = "The token is not valid."


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
