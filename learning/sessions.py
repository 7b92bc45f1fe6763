"""The LMS session: which LMS user this browser session belongs to.

Kept apart from Django's auth login on purpose: in the ``lms`` deployment there is no
Commerce user model, and in the monolith the store's login and the LMS's live side by
side in one session (logging out at the store flushes both).
"""

import hmac
import secrets
import time
import uuid

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
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
        elif not _same_identity_as_store_login(request, user):
            session.pop(SESSION_KEY, None)
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
