"""The LMS session: which LMS user this browser session belongs to.

Kept apart from Django's auth login on purpose: in the ``lms`` deployment there is no
Commerce user model, and in the monolith the store's login and the LMS's live side by
side in one session (logging out at the store flushes both).
"""

import hmac
import secrets
import time
import uuid

from django.http import HttpRequest

from learning.models import LmsUser

SESSION_KEY = "_lms_user_id"
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
    setattr(request, _CACHE_ATTR, user)
    return user


def lms_session_open(request: HttpRequest, *, lms_user: LmsUser) -> None:
    """Logs ``lms_user`` in to the LMS; a new session key defeats session fixation."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(lms_user.pk)
    setattr(request, _CACHE_ATTR, lms_user)
    request.lms_user = lms_user


def lms_session_close(request: HttpRequest) -> None:
    """Ends the LMS session only (the store's login, in the same session, is not the LMS's to end)."""
    request.session.pop(SESSION_KEY, None)
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
