"""Pages under /account/ that allauth does not provide: overview, data download, deletion, SSO start."""

import json
import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout as django_logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from identity.errors import InvalidCredentials, LoginLocked
from identity.forms import DeleteAccountForm
from identity.selectors import user_email_verified, user_has_mfa, user_personal_data, user_roles
from identity.services.accounts import user_erase_confirmed
from identity.services.tokens import sso_access_token_issue, sso_session_binding
from integration.client_address import client_address
from integration.routes import url_for

# The LMS's one-time state (learning.sessions.sso_state_issue): URL-safe base64 of 32 bytes.
_SSO_STATE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")


@login_required
def account_home(request):
    user = request.user
    return render(request, "identity/account_home.html", {
        "commerce_roles": user_roles(user_id=user.pk),
        "email_verified": user_email_verified(user=user),
        "mfa_enabled": user_has_mfa(user=user),
    })


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def account_data(request):
    """GET explains; POST (a form, so no link prefetch can trigger it) downloads the JSON."""
    if request.method == "GET":
        return render(request, "identity/account_data.html")
    body = json.dumps(user_personal_data(user=request.user), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@login_required
@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def account_delete(request):
    user = request.user
    needs_password = user.has_usable_password()
    form = DeleteAccountForm(request.POST or None, needs_password=needs_password)
    if request.method == "POST" and form.is_valid():
        try:
            user_erase_confirmed(user=user, password=form.cleaned_data.get("password"),
                                 address=client_address(request))
        except LoginLocked as exc:
            form.add_error(None, exc.message)
        except InvalidCredentials:
            form.add_error("password", "The password is incorrect.")
        else:
            django_logout(request)
            messages.success(request, "Your account has been deleted and your personal data erased.")
            return redirect("home")
    return render(request, "identity/account_delete.html", {"form": form})


@login_required
@never_cache
def lms_sso_start(request):
    """Hands the storefront user to the LMS (spec 5.1): an access token, POSTed by the browser.

    The token never appears in a URL; it belongs to a family tied to this
    session, so logging out of the storefront revokes it.
    """
    next_path = request.GET.get("next", "")
    if not (next_path.startswith("/lms/") and url_has_allowed_host_and_scheme(next_path, allowed_hosts=None)):
        next_path = ""
    state = request.GET.get("state", "")
    if not _SSO_STATE.match(state):
        # The handoff starts at the LMS, which binds it to the browser with a state; send the person there.
        query = urlencode({"next": next_path}) if next_path else ""
        return redirect(url_for("learning.sso_begin") + (f"?{query}" if query else ""))
    token = sso_access_token_issue(user=request.user, session_binding=sso_session_binding(request.session))
    response = render(request, "identity/sso_start.html",
                      {"action": url_for("learning.sso_callback"), "token": token, "state": state,
                       "next_path": next_path})
    response["Referrer-Policy"] = "no-referrer"
    return response
