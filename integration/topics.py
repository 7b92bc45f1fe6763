"""Every asynchronous topic, named once. Code refers to ``Topic.X``, never to the string."""

from enum import StrEnum


class Topic(StrEnum):
    CATALOG_SYNC = "catalog.sync"
    ENTITLEMENT = "entitlement"
    ENROLLMENT_STATUS = "enrollment.status"
    REVENUE_EVENTS = "revenue.events"
    REVENUE_RELEASES = "revenue.releases"
    USER_ERASED = "identity.user_erased"
    ROLE_GRANT = "identity.role_grant"
    ROLE_REVOKE = "identity.role_revoke"
    # learning -> revenue: activation, completion, interaction met, revocation, expiry (owner: learning).
    ENROLLMENT_LIFECYCLE = "enrollment.lifecycle"
    # learning -> revenue: a staff role that maps to a Commerce role (billing-admin) was granted or removed
    # (owner: learning; revenue's billing_admin_role_sync acts on it).
    STAFF_ROLE_CHANGED = "lms.staff_role_changed"
