"""Identity's side of integration: the ``IdentityPort`` implementation and the topics identity receives.

``LocalIdentity`` is what every caller gets in process (``identity_port()``); the
HTTP endpoints of the same operations (validate-token, the migration calls, the
service-token exchange, the user look-ups) answer ``port_wire_answer`` of the same
methods, so both transports give the same shape.
"""

import uuid

from identity.errors import UserNotFound
from identity.models import User
from identity.seed import seed_identity
from identity.selectors import (
    active_user_with_roles,
    identity_phase_get,
    token_family_validate,
    token_validate,
    user_roles,
)
from identity.services.accounts import identity_import_user
from identity.services.phases import identity_phase_set
from identity.services.platform import platform_payee_ensure
from identity.services.roles import actor_for_service, actor_for_system, role_grant, role_revoke
from identity.services.service_clients import service_token_issue
from integration import registry
from integration.contracts.identity import (
    IdentityPhase,
    ImportedIdentity,
    RoleChange,
    RoleGrant,
    RoleRevoke,
    ServiceToken,
    TokenValidation,
    UserRef,
)
from integration.ports import implement
from integration.ports.identity import IdentityPort
from integration.registry import Delivery
from integration.topics import Topic


class LocalIdentity(IdentityPort):
    def validate_token(self, *, token: str) -> TokenValidation:
        return TokenValidation.from_wire(token_validate(token=token))

    def validate_token_family(self, *, token: str) -> TokenValidation:
        return TokenValidation.from_wire(token_family_validate(token=token))

    def phase(self) -> IdentityPhase:
        return IdentityPhase(phase=identity_phase_get())

    def set_phase(self, *, phase: int, reason: str) -> IdentityPhase:
        change = identity_phase_set(phase=int(phase), reason=reason, actor=actor_for_system("lms, in process"))
        return IdentityPhase(phase=change.to_phase)

    def import_user(self, *, email: str, password_hash: str, lms_user_id: str) -> ImportedIdentity:
        imported = identity_import_user(email=email, password_hash=password_hash, lms_user_id=lms_user_id)
        return ImportedIdentity(user_id=imported.user_id, created=imported.created)

    def issue_service_token(self, *, client_id: str, client_secret: str, scope: tuple[str, ...]) -> ServiceToken:
        return ServiceToken.from_wire(service_token_issue(client_id=client_id, client_secret=client_secret,
                                                          scope=list(scope)))

    def user_find(self, *, email: str) -> UserRef:
        user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
        if user is None:
            raise UserNotFound()
        return _user_ref(user)

    def user_get(self, *, user_id: str) -> UserRef:
        found = active_user_with_roles(user_id=_uuid_or_none(user_id))
        if found is None:
            raise UserNotFound()
        pk, email, roles = found
        return UserRef(id=pk, email=email, commerce_roles=tuple(roles))

    def platform_payee(self) -> UserRef:
        return _user_ref(platform_payee_ensure())


def _user_ref(user: User) -> UserRef:
    return UserRef(id=str(user.pk), email=user.email, commerce_roles=tuple(user_roles(user_id=user.pk)))


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def handle_role_grant(message: RoleGrant, *, delivery: Delivery) -> RoleChange:
    """Topic ``identity.role_grant``: spec 6.1.4."""
    return RoleChange.from_wire(role_grant(
        user_id=message.user_id, role=message.role, reason=message.reason, metadata=message.metadata or {},
        actor=actor_for_service(delivery.source_service)).as_wire())


def handle_role_revoke(message: RoleRevoke, *, delivery: Delivery) -> RoleChange:
    """Topic ``identity.role_revoke``."""
    return RoleChange.from_wire(role_revoke(
        user_id=message.user_id, role=message.role, reason=message.reason,
        actor=actor_for_service(delivery.source_service)).as_wire())


def register() -> None:
    implement(IdentityPort, LocalIdentity())
    registry.register_provider("seed.identity", seed_identity)
    registry.register_handler(Topic.ROLE_GRANT, handle_role_grant)
    registry.register_handler(Topic.ROLE_REVOKE, handle_role_revoke)
