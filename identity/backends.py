"""Admin permissions that come with the commerce-admin role (000_... section 4.1).

A commerce-admin manages commerce: orders and refunds, prices (the catalog), payouts,
the integration's dead letters, and people's roles (audited). Never authentication:
no allauth email addresses or MFA devices, no sites, no periodic tasks, no service
clients or token families, no Django auth tables. What is granted is a list of apps
and, for identity, of models; anything not named is refused (a new model starts
superuser-only). Superuser and staff accounts are changed by superusers only
(``identity.admin.UserAdmin``).
"""

from django.conf import settings
from django.contrib.auth.backends import BaseBackend

from identity.selectors import user_is_commerce_admin

# Whole apps a commerce-admin manages (the commerce apps other than identity, and dead letters).
COMMERCE_ADMIN_APPS = frozenset({"catalog", "orders", "payouts", "integration"})
# Identity's models a commerce-admin may see or change: people (not their credentials) and roles.
COMMERCE_ADMIN_IDENTITY_MODELS = frozenset({
    "user", "userrole", "roleauditlog", "identityphase", "identityphasechange", "lmsaccountlink"})


def commerce_admin_app_labels() -> frozenset[str]:
    return frozenset({"identity", *(COMMERCE_ADMIN_APPS & {*settings.COMMERCE_APPS, "integration"})})


def commerce_admin_may(app_label: str, codename: str | None = None) -> bool:
    """Whether the commerce-admin role covers this app (and, given a codename, this model)."""
    if app_label not in commerce_admin_app_labels():
        return False
    if app_label != "identity" or codename is None:
        return True
    _, _, model = codename.partition("_")
    return model in COMMERCE_ADMIN_IDENTITY_MODELS


class CommerceAdminPermissionBackend(BaseBackend):
    """Grants a commerce-admin the model permissions of what it manages (never authenticates)."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        app_label, _, codename = str(perm).partition(".")
        return commerce_admin_may(app_label, codename) and user_is_commerce_admin(user_obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return commerce_admin_may(app_label) and user_is_commerce_admin(user_obj)
