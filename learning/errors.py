"""The errors the LMS side raises; each becomes the JSON error body on the API or a page on the site."""

from integration.errors import ApplicationError


class SsoNotEnabled(ApplicationError):
    status_code = 403
    code = "sso_not_enabled"
    default_message = ("The store's single sign-on is not switched on yet (identity migration phase 1). "
                       "Existing LMS accounts log in with their LMS password.")


class InvalidCommerceToken(ApplicationError):
    """The token did not validate (``INVALID_TOKEN``, ``EXPIRED_TOKEN`` or ``REVOKED_TOKEN``)."""

    status_code = 401
    code = "INVALID_TOKEN"
    default_message = "Your store session is not valid any more. Please log in again."


class LmsAccountInactive(ApplicationError):
    status_code = 403
    code = "account_inactive"
    default_message = "This LMS account is not active."


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "The email address or password is not correct."


class TooManyLoginAttempts(ApplicationError):
    status_code = 429
    code = "too_many_attempts"
    default_message = "Too many failed attempts. Please wait a few minutes and try again."


class AccountMoved(ApplicationError):
    status_code = 409
    code = "account_moved"
    default_message = "Your LMS account has moved to the store: log in at the store with the same password."


class MigrationRefused(ApplicationError):
    status_code = 409
    code = "migration_refused"
    default_message = "The identity migration step cannot run now."
