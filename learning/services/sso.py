"""Single sign-on from the store (spec 5.1, option B with a short cache): a Commerce token becomes an LMS user."""

from django.utils import timezone

from integration.contracts.identity import TokenValidation
from integration.ports.identity import validate_token_cached
from learning.errors import COMMERCE_TOKEN_ERRORS, InvalidCommerceToken, LmsAccountInactive, SsoNotEnabled
from learning.models import LmsUser
from learning.selectors import identity_phase_cached
from learning.services.users import lms_user_sync_from_commerce

# A JWT is far shorter; anything longer is not worth sending to the identity port.
MAX_TOKEN_LENGTH = 4096


def sso_authenticate(*, token: str) -> tuple[LmsUser, TokenValidation]:
    """Validates a Commerce access token through the identity port and answers its LMS user.

    Refused before identity phase 2, when the token is not valid (the port caches answers
    for TOKEN_VALIDATION_CACHE_SECONDS, so a revoked token stops working within that time),
    and for an inactive LMS user. Creates or refreshes the LMS user, keyed by commerceUserId.
    """
    if identity_phase_cached() < 2:
        raise SsoNotEnabled()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidCommerceToken()
    validation = validate_token_cached(token=token)
    if not validation.valid or not validation.user_id:
        error = COMMERCE_TOKEN_ERRORS.get(validation.error_code or "", InvalidCommerceToken)
        raise error(validation.error_message or None)
    user = lms_user_sync_from_commerce(commerce_user_id=validation.user_id, email=validation.email,
                                       now=timezone.now())
    if not user.is_active:
        raise LmsAccountInactive()
    return user, validation
