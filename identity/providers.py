"""What identity answers through integration's ports and handles from its outbox topics."""

from identity.seed import seed_identity
from identity.selectors import identity_phase_get, token_validate
from identity.services.accounts import identity_import_user
from identity.services.phases import identity_phase_set
from identity.services.roles import actor_for_service, actor_for_system, role_grant, role_revoke
from identity.services.service_clients import service_token_issue
from integration import registry
from integration.registry import Delivery


def validate_token(*, token: str) -> dict:
    return token_validate(token=token)


def phase() -> dict:
    return {"phase": identity_phase_get()}


def set_phase(*, phase: int, reason: str) -> dict:
    change = identity_phase_set(phase=int(phase), reason=reason, actor=actor_for_system("lms, in process"))
    return {"phase": change.to_phase}


def import_user(*, email: str, passwordHash: str, lmsUserId: str) -> dict:
    return identity_import_user(email=email, password_hash=passwordHash, lms_user_id=lmsUserId).as_wire()


def issue_service_token(*, client_id: str, client_secret: str, scope: list[str]) -> dict:
    return service_token_issue(client_id=client_id, client_secret=client_secret, scope=scope)


def handle_role_grant(payload: dict, *, delivery: Delivery) -> dict:
    """Topic ``identity.role_grant``: ``{userId, role, reason, metadata?}`` → spec 6.1.4's answer."""
    return role_grant(user_id=payload["userId"], role=payload["role"], reason=payload["reason"],
                      metadata=payload.get("metadata") or {},
                      actor=actor_for_service(delivery.source_service)).as_wire()


def handle_role_revoke(payload: dict, *, delivery: Delivery) -> dict:
    """Topic ``identity.role_revoke``: ``{userId, role, reason}``."""
    return role_revoke(user_id=payload["userId"], role=payload["role"], reason=payload["reason"],
                       actor=actor_for_service(delivery.source_service)).as_wire()


def register() -> None:
    registry.register_provider("identity.validate_token", validate_token)
    registry.register_provider("identity.phase", phase)
    registry.register_provider("identity.set_phase", set_phase)
    registry.register_provider("identity.import_user", import_user)
    registry.register_provider("identity.issue_service_token", issue_service_token)
    registry.register_provider("seed.identity", seed_identity)
    registry.register_handler("identity.role_grant", handle_role_grant)
    registry.register_handler("identity.role_revoke", handle_role_revoke)
