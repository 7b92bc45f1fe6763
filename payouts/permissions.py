"""Who may see what: a payee sees their own account; commerce-admins see every account."""

# A commerce-admin holds every Commerce model permission (identity's CommerceAdminPermissionBackend).
ADMIN_PERMISSION = "payouts.view_revenueledgerentry"


def is_commerce_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active
                and (user.is_superuser or user.has_perm(ADMIN_PERMISSION)))
