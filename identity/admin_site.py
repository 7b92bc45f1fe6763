"""Who may use the Django admin: commerce-admins and superusers, signed in through the site's own login
(so the password throttle and MFA apply to the admin too)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from identity.selectors import user_is_commerce_admin


def admin_has_permission(request) -> bool:
    user = request.user
    return bool(user.is_active and (user.is_superuser or user_is_commerce_admin(user)))


def admin_login(request, extra_context=None):
    index = reverse("admin:index")
    target = request.GET.get("next") or index
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = index
    if request.user.is_authenticated:
        if admin_has_permission(request):
            return redirect(target)
        raise PermissionDenied
    return redirect_to_login(target)


def admin_logout(request, extra_context=None):
    """The admin's logout is the storefront's (it ends the SSO tokens of the session too)."""
    from identity.services.tokens import storefront_logout

    if request.method == "POST":
        storefront_logout(request)
    return redirect("/")


def install(site: admin.AdminSite = admin.site) -> None:
    site.has_permission = admin_has_permission
    site.login = admin_login
    site.logout = admin_logout
    # Branded as the site, not "Django administration".
    site.site_header = f"{settings.SITE_NAME} administration"
    site.site_title = settings.SITE_NAME
    site.index_title = "Commerce administration"
    site.site_url = "/"
