"""A stand-in for the identity side where a test is about the LMS alone (the end-to-end tests use the real one)."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from identity.errors import EmailConflictUnverified
from identity.providers import LocalIdentity
from integration.contracts.identity import (
    IdentityPhase,
    ImportedIdentity,
    ServiceToken,
    TokenValidation,
    UserRef,
)
from integration.ports import PortUnavailable
from integration.ports.base import implementation_of, override
from integration.ports.identity import IdentityPort
from integration.service_auth import mint_service_token
from learning.selectors import identity_phase_forget


def sso_begin(client) -> str:
    """What "My courses" does first: the LMS issues this browser's one-time state.

    A browser already in an LMS session is sent straight on, so it logs out of the LMS first.
    """
    location = client.get("/lms/sso/begin")["Location"]
    if "state=" not in location:
        client.post("/lms/logout/")
        location = client.get("/lms/sso/begin")["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


def sso_post(client, data: dict):
    """The store's auto-submitted form, posted back by the browser that began the handoff."""
    return client.post("/lms/sso/callback", {"state": sso_begin(client), **data})


def identity_is_real() -> bool:
    """Whether the identity app registered its port (the end-to-end tests need it)."""
    return isinstance(implementation_of(IdentityPort), LocalIdentity)


class FakeIdentity(IdentityPort):
    """Answers the identity port the way the spec (6.1.1) describes it, for tests about the LMS alone."""

    def __init__(self):
        self.phase_number = 2
        self.reasons: list[str] = []
        self.tokens: dict[str, dict] = {}
        self.validations = 0
        self.families: dict[str, dict] = {}  # token -> validate_token_family's answer (default: as validate)
        self.family_checks = 0
        self.accounts: dict[str, str] = {}  # email -> Commerce user id
        self.imports: list[dict] = []
        self.conflicts: set[str] = set()
        self.unavailable_after: int | None = None
        self.down = False

    # --- tokens -------------------------------------------------------------
    def issue(self, *, user_id: str | None = None, email: str = "buyer@example.com") -> str:
        token = f"fake.{uuid.uuid4().hex}.sig"  # JWT-shaped: the port refuses anything else unasked
        self.tokens[token] = {"valid": True, "user": {"id": user_id or str(uuid.uuid4()), "email": email,
                                                      "commerceRoles": ["purchaser"]}}
        return token

    def revoke(self, token: str) -> None:
        self.tokens[token] = {"valid": False, "error": {"code": "REVOKED_TOKEN", "message": "Token revoked."}}

    def validate_token(self, *, token: str) -> TokenValidation:
        self.validations += 1
        if self.down:
            raise PortUnavailable()
        return TokenValidation.from_wire(self.tokens.get(token) or {
            "valid": False, "error": {"code": "INVALID_TOKEN", "message": "Token is invalid."}})

    def validate_token_family(self, *, token: str) -> TokenValidation:
        self.family_checks += 1
        if self.down:
            raise PortUnavailable()
        return TokenValidation.from_wire(self.families.get(token) or self.tokens.get(token) or {
            "valid": False, "error": {"code": "INVALID_TOKEN", "message": "Token is invalid."}})

    # --- phases -------------------------------------------------------------
    def phase(self) -> IdentityPhase:
        if self.down:
            raise PortUnavailable()
        return IdentityPhase(phase=self.phase_number)

    def set_phase(self, *, phase: int, reason: str) -> IdentityPhase:
        self.phase_number = phase
        self.reasons.append(reason)
        return IdentityPhase(phase=phase)

    def set(self, phase: int) -> None:
        self.phase_number = phase
        identity_phase_forget()

    # --- identity migration -------------------------------------------------
    def import_user(self, *, email: str, password_hash: str, lms_user_id: str) -> ImportedIdentity:
        if self.unavailable_after is not None and len(self.imports) >= self.unavailable_after:
            raise PortUnavailable(details={"port": "identity.import_user"})
        if email.lower() in self.conflicts:
            raise EmailConflictUnverified()
        self.imports.append({"email": email, "passwordHash": password_hash, "lmsUserId": lms_user_id})
        existing = self.accounts.get(email.lower())
        if existing:
            return ImportedIdentity(user_id=existing, created=False)
        self.accounts[email.lower()] = str(uuid.uuid4())
        return ImportedIdentity(user_id=self.accounts[email.lower()], created=True)

    # --- the rest of the port, real (these tests do not fake them) -----------
    def issue_service_token(self, *, client_id: str, client_secret: str, scope: tuple[str, ...]) -> ServiceToken:
        return LocalIdentity().issue_service_token(client_id=client_id, client_secret=client_secret, scope=scope)

    def user_find(self, *, email: str) -> UserRef:
        return LocalIdentity().user_find(email=email)

    def user_get(self, *, user_id: str) -> UserRef:
        return LocalIdentity().user_get(user_id=user_id)

    def platform_payee(self) -> UserRef:
        return LocalIdentity().platform_payee()


@pytest.fixture
def fake_identity():
    fake = FakeIdentity()
    override(IdentityPort, fake)
    return fake


def service_token(*scopes: str) -> str:
    return mint_service_token(client_id="commerce-service", scopes=list(scopes))


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def lms_login(client, user) -> None:
    """Puts ``user`` in the test client's LMS session (what the SSO callback does)."""
    from learning.sessions import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = str(user.pk)
    session.save()


@pytest.fixture
def outbox():
    """The messages written to the outbox, as (topic, payload) pairs, for one topic or all."""
    from integration.models import OutboxMessage

    def messages(topic: str | None = None) -> list[dict]:
        rows = OutboxMessage.objects.order_by("created_at", "pk")
        if topic:
            rows = rows.filter(topic=topic)
        return [row.payload for row in rows]

    return messages
