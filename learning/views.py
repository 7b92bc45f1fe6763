"""LMS pages: the SSO landing and callback, the legacy login, logout ("My courses" is learning.pages.learner)."""

import logging
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integration.errors import ApplicationError
from integration.routes import route_named
from learning.errors import (
    AccountMoved,
    InvalidCommerceToken,
    InvalidCredentials,
    LmsAccountInactive,
    LoginLocked,
    SsoNotEnabled,
)
from learning.forms import LegacyLoginForm
from learning.selectors import identity_phase_if_known
from learning.services.legacy import legacy_login
from learning.services.sso import sso_authenticate
from learning.sessions import lms_session_close, lms_session_open, sso_state_consume, sso_state_issue
from learning.web import STORE_LOGIN_PATH, STORE_SSO_START_PATH, client_ip, store_url

logger = logging.getLogger(__name__)

HOME = "/lms/"
LANDING = "/lms/sso/"
SSO_BEGIN = route_named("learning.sso_begin").path


def _render(request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    return render(request, template, {"lms_user": request.lms_user, **(context or {})}, status=status)


def _next_path(request: HttpRequest) -> str:
    """Where to go after logging in: a page of the LMS on this site, else "My courses"."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (target.startswith(HOME) and ".." not in target and "\\" not in target
            and url_has_allowed_host_and_scheme(target, allowed_hosts=None)):
        return target
    return HOME


@require_GET
@never_cache
def sso_landing(request):
    if request.lms_user:
        return redirect(_next_path(request))
    # The page the visitor asked for rides along the handoff (sso_begin passes ``next`` to the store and back).
    next_path = _next_path(request)
    start = SSO_BEGIN if next_path == HOME else f"{SSO_BEGIN}?{urlencode({'next': next_path})}"
    return _render(request, "learning/sso_landing.html", {"sso_start_url": start})


@require_GET
@never_cache
def sso_begin(request):
    """Starts the handoff: a state for this session, then the store's SSO start, which posts back here."""
    if request.lms_user:
        return redirect(_next_path(request))
    query = {"state": sso_state_issue(request)}
    if (next_path := _next_path(request)) != HOME:
        query["next"] = next_path
    return redirect(f"{store_url(STORE_SSO_START_PATH)}?{urlencode(query)}")


def _sso_problem(request, *, status: int, title: str, message: str, login_again: bool = False) -> HttpResponse:
    return _render(request, "learning/sso_problem.html", {
        "title": title, "message": message, "login_again": login_again,
        "store_login_url": store_url(STORE_LOGIN_PATH), "sso_start_url": SSO_BEGIN,
    }, status=status)


@csrf_exempt  # a cross-site form post from the store, authenticated by the token it carries
@require_http_methods(["GET", "POST"])
@never_cache
def sso_callback(request):
    """The store posts a Commerce access token here (form field ``token``, never the query string)."""
    if request.method == "GET":
        return redirect(LANDING)
    if not sso_state_consume(request, state=request.POST.get("state", "")):
        return _sso_problem(request, status=400, title="Please start again",
                            message="This sign-in was not started from this browser, or it took too long. "
                                    "Open “My courses” again.")
    try:
        token = request.POST.get("token", "")
        user, validation = sso_authenticate(token=token)
    except SsoNotEnabled as exc:
        return _sso_problem(request, status=403, title="Single sign-on is not available yet", message=exc.message)
    except InvalidCommerceToken:
        return _sso_problem(request, status=401, title="Please log in again", login_again=True,
                            message="Your store session has expired or is no longer valid, so we could not "
                                    "sign you in to your courses.")
    except LmsAccountInactive as exc:
        return _sso_problem(request, status=403, title="Account not active", message=exc.message)
    except ApplicationError as exc:  # identity unreachable or misconfigured: nothing the person did
        logger.warning("SSO callback could not validate a token", extra={"code": exc.code})
        return _sso_problem(request, status=503, title="Please try again shortly",
                            message="The store did not answer in time, so we could not check your sign-in.")
    lms_session_open(request, lms_user=user, sso_token=token, sso_expires_at=validation.expires_at)
    return redirect(_next_path(request))


@require_http_methods(["GET", "POST"])
@never_cache
def legacy_login_page(request):
    if request.method == "GET" and request.lms_user:
        return redirect(HOME)
    form = LegacyLoginForm(request.POST or None)
    status, moved, headers = 200, False, {}
    if request.method == "POST" and form.is_valid():
        try:
            user = legacy_login(email=form.cleaned_data["email"], password=form.cleaned_data["password"],
                                ip=client_ip(request))
        except AccountMoved:
            moved, status = True, 409
        except (InvalidCredentials, LoginLocked) as exc:
            form.add_error(None, exc.message)
            status, headers = exc.status_code, exc.headers
        else:
            lms_session_open(request, lms_user=user)
            return redirect(_next_path(request))
    response = _render(request, "learning/legacy_login.html", {
        "form": form, "moved": moved, "accounts_moving": _accounts_moving(),
        "store_login_url": store_url(STORE_LOGIN_PATH), "sso_start_url": SSO_BEGIN,
    }, status=status)
    for header, value in headers.items():
        response[header] = value
    return response


def _accounts_moving() -> bool:
    """Whether to tell people that accounts are moving to the store; a notice, so identity's absence hides it."""
    return (identity_phase_if_known() or 0) >= 3


@require_POST
def logout(request):
    lms_session_close(request)
    return redirect(LANDING)
