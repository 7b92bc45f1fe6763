"""Admin permissions that come with the commerce-admin role (000_... section 4.1)."""

from django.conf import settings
from django.contrib.auth.backends import BaseBackend

from identity.selectors import user_is_commerce_admin

# Django's own auth tables (groups, permissions) stay superuser-only.
SUPERUSER_ONLY_APPS = frozenset({"auth"})


def commerce_admin_app_labels() -> frozenset[str]:
    return frozenset({*settings.COMMERCE_APPS, "integration", "account", "mfa", "sites", "django_celery_beat"})


class CommerceAdminPermissionBackend(BaseBackend):
    """Grants a commerce-admin every model permission of the Commerce apps (never authenticates)."""

    def authenticate(self, request, **credentials):
        return None

    def _allowed(self, user_obj, app_label: str) -> bool:
        if app_label in SUPERUSER_ONLY_APPS or app_label not in commerce_admin_app_labels():
            return False
        return user_is_commerce_admin(user_obj)

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        app_label, _, _ = str(perm).partition(".")
        return self._allowed(user_obj, app_label)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return self._allowed(user_obj, app_label)
