"""The LMS session: which LMS user this browser session belongs to.

Kept apart from Django's auth login on purpose: in the ``lms`` deployment there is no
Commerce user model, and in the monolith the store's login and the LMS's live side by
side in one session (logging out at the store flushes both).
"""

import hmac
import logging
import secrets
import time
import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.core.cache import cache
from django.http import HttpRequest

from integration.errors import ApplicationError
from integration.ports import PortUnavailable
from integration.ports.identity import validate_token_cached, validate_token_family_cached
from learning.models import LmsUser

logger = logging.getLogger(__name__)

SESSION_KEY = "_lms_user_id"
# The SSO handoff a session was opened with: {"token", "expiresAt", "confirmedAt"} (server side only).
SSO_SESSION_KEY = "_lms_sso"
# After the store failed to answer, sessions do not ask again for this long (one attempt, not one per request).
IDENTITY_DOWN_CACHE_KEY = "lms:sso:identity-unreachable"
IDENTITY_DOWN_RETRY_SECONDS = 10
_CACHE_ATTR = "_cached_lms_user"
SSO_STATE_KEY = "_lms_sso_state"
SSO_STATE_MAX_AGE_SECONDS = 600


class AnonymousLmsUser:
    """``request.lms_user`` when nobody is logged in to the LMS; false in ``{% if lms_user %}``."""

    id = pk = None
    email = ""
    user_types: tuple[str, ...] = ()
    is_authenticated = False
    is_anonymous = True
    is_active = False

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return "anonymous"


def current_lms_user(request: HttpRequest) -> LmsUser | None:
    """The active LMS user of this session (one query, remembered for the request)."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    user = None
    session = getattr(request, "session", None)
    raw = session.get(SESSION_KEY) if session is not None else None
    if raw:
        try:
            user = LmsUser.objects.filter(pk=uuid.UUID(str(raw)), is_active=True).first()
        except ValueError:
            user = None
        if user is None:
            session.pop(SESSION_KEY, None)
        elif not _same_identity_as_store_login(request, user):
            session.pop(SESSION_KEY, None)
            user = None
        elif not _sso_sign_in_still_live(session, user):
            _lms_session_end(request)
            user = None
    setattr(request, _CACHE_ATTR, user)
    return user


def _same_identity_as_store_login(request: HttpRequest, lms_user: LmsUser) -> bool:
    """Where the store's login shares this session (the monolith), the LMS session must belong to the
    same person: a store login as someone else ends it, and so does a store login that is no longer
    valid (Django flushes a session whose password hash is stale, e.g. after a password change
    elsewhere). Without a store login in the session (a legacy LMS login, the ``lms`` deployment)
    the LMS session stands on its own."""
    if not settings.SERVES_COMMERCE or AUTH_SESSION_KEY not in request.session:
        return True
    store_user = getattr(request, "user", None)
    if store_user is None or not store_user.is_authenticated:  # evaluating it checked the session's hash
        return False
    return str(store_user.pk) == str(lms_user.commerce_user_id or "")


def _sso_sign_in_still_live(session, lms_user: LmsUser, now: float | None = None) -> bool:
    """Whether the store sign-in an SSO session came from still stands (always true for a session
    opened otherwise, e.g. the legacy login).

    The handoff token is asked about through the identity port, whose answers are cached
    TOKEN_VALIDATION_CACHE_SECONDS, so a request within that window makes no call. The token lives
    an hour and the session longer: once the token has expired, its *family* (tied to the store
    session, revoked by a store logout, a password change or an erasure) is asked instead. When the
    store cannot be asked, the session is kept until the token's expiry or LMS_SSO_OUTAGE_GRACE_SECONDS
    after the last confirmation, whichever is later, and the outage is logged; after a failed call no
    session asks again for IDENTITY_DOWN_RETRY_SECONDS.
    """
    handoff = session.get(SSO_SESSION_KEY)
    if handoff is None:
        return True
    if not isinstance(handoff, dict) or not handoff.get("token"):
        return False
    now = time.time() if now is None else now
    token = handoff["token"]
    try:
        if cache.get(IDENTITY_DOWN_CACHE_KEY):
            raise PortUnavailable(details={"reason": "failed moments ago, not asked again yet"})
        try:
            answer = validate_token_cached(token=token)
            if not answer.valid and answer.error_code == "EXPIRED_TOKEN":
                answer = validate_token_family_cached(token=token)
        except ApplicationError:
            cache.set(IDENTITY_DOWN_CACHE_KEY, True, IDENTITY_DOWN_RETRY_SECONDS)
            raise
    except ApplicationError as exc:
        kept_until = max(int(handoff.get("expiresAt") or 0),
                         int(handoff.get("confirmedAt") or 0) + settings.LMS_SSO_OUTAGE_GRACE_SECONDS)
        logger.warning("LMS session: the store could not confirm its SSO sign-in", extra={
            "code": exc.code, "lms_user_id": str(lms_user.pk), "kept": now < kept_until,
            "kept_until": kept_until})
        return now < kept_until
    if not answer.valid or answer.user_id != (lms_user.commerce_user_id or None):
        logger.info("LMS session ended: its store sign-in is no longer valid",
                    extra={"code": answer.error_code, "lms_user_id": str(lms_user.pk)})
        return False
    if now - int(handoff.get("confirmedAt") or 0) >= settings.TOKEN_VALIDATION_CACHE_SECONDS:
        session[SSO_SESSION_KEY] = handoff | {"confirmedAt": int(now)}  # one session write per window
    return True


def _lms_session_end(request: HttpRequest) -> None:
    """Where the session is the LMS's alone (the ``lms`` deployment) it is flushed; in the monolith
    the store's login shares it, so only the LMS's part goes."""
    if settings.SERVES_COMMERCE:
        request.session.pop(SESSION_KEY, None)
        request.session.pop(SSO_SESSION_KEY, None)
        request.session.cycle_key()
    else:
        request.session.flush()


def lms_session_open(request: HttpRequest, *, lms_user: LmsUser, sso_token: str = "",
                     sso_expires_at: datetime | None = None) -> None:
    """Logs ``lms_user`` in to the LMS; a new session key defeats session fixation. ``sso_token``: the
    handoff token the session was opened with, kept server side and re-checked on later requests."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(lms_user.pk)
    request.session.pop(SSO_SESSION_KEY, None)
    if sso_token:
        request.session[SSO_SESSION_KEY] = {"token": sso_token, "expiresAt": int(sso_expires_at.timestamp()) if sso_expires_at else 0,
                                            "confirmedAt": int(time.time())}
    setattr(request, _CACHE_ATTR, lms_user)
    request.lms_user = lms_user


def lms_session_close(request: HttpRequest) -> None:
    """Ends the LMS session only (the store's login, in the same session, is not the LMS's to end)."""
    request.session.pop(SESSION_KEY, None)
    request.session.pop(SSO_SESSION_KEY, None)
    request.session.cycle_key()
    setattr(request, _CACHE_ATTR, None)
    request.lms_user = AnonymousLmsUser()


def sso_state_issue(request: HttpRequest) -> str:
    """A one-time value binding an SSO handoff to the browser session that started it.

    The callback accepts a token only with the state this session was given, so
    another site cannot post its own valid token and sign a visitor in to the
    wrong LMS account (login CSRF).
    """
    state = secrets.token_urlsafe(32)
    request.session[SSO_STATE_KEY] = {"value": state, "issuedAt": int(time.time())}
    return state


def sso_state_consume(request: HttpRequest, *, state: str) -> bool:
    """True once for the state this session was issued, within SSO_STATE_MAX_AGE_SECONDS."""
    issued = request.session.pop(SSO_STATE_KEY, None)
    if not isinstance(issued, dict) or not state:
        return False
    fresh = 0 <= time.time() - issued.get("issuedAt", 0) <= SSO_STATE_MAX_AGE_SECONDS
    return fresh and hmac.compare_digest(str(issued.get("value", "")).encode(), state.encode())
