"""A stand-in for the identity side where a test is about the LMS alone (the end-to-end tests use the real one)."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from integration import registry
from integration.errors import ApplicationError
from integration.ports import PortUnavailable
from integration.service_auth import mint_service_token
from learning.selectors import identity_phase_forget


def use_provider(name: str, provider) -> None:
    """Makes ``provider`` answer ``name`` for this test (tests/conftest.py puts the real one back)."""
    state = registry.snapshot()
    state["providers"][name] = provider
    registry.restore(state)


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
    """Whether the identity app registers its providers (the end-to-end tests need it)."""
    return registry.has_provider("identity.validate_token") and registry.has_provider("identity.import_user")


class FakeIdentity:
    """Answers the identity providers the way the spec (6.1.1) and integration.ports describe them."""

    def __init__(self):
        self.phase = 2
        self.reasons: list[str] = []
        self.tokens: dict[str, dict] = {}
        self.validations = 0
        self.accounts: dict[str, str] = {}  # email -> Commerce user id
        self.imports: list[dict] = []
        self.conflicts: set[str] = set()
        self.unavailable_after: int | None = None
        self.down = False

    # --- tokens -------------------------------------------------------------
    def issue(self, *, user_id: str | None = None, email: str = "buyer@example.com") -> str:
        token = f"user-token-{uuid.uuid4().hex}"
        self.tokens[token] = {"valid": True, "user": {"id": user_id or str(uuid.uuid4()), "email": email,
                                                      "commerceRoles": ["purchaser"]}}
        return token

    def revoke(self, token: str) -> None:
        self.tokens[token] = {"valid": False, "error": {"code": "REVOKED_TOKEN", "message": "Token revoked."}}

    def validate_token(self, *, token: str) -> dict:
        self.validations += 1
        if self.down:
            raise PortUnavailable()
        return self.tokens.get(token) or {"valid": False,
                                          "error": {"code": "INVALID_TOKEN", "message": "Token is invalid."}}

    # --- phases -------------------------------------------------------------
    def get_phase(self) -> dict:
        if self.down:
            raise PortUnavailable()
        return {"phase": self.phase}

    def set_phase(self, *, phase: int, reason: str) -> dict:
        self.phase = phase
        self.reasons.append(reason)
        return {"phase": phase}

    def set(self, phase: int) -> None:
        self.phase = phase
        identity_phase_forget()

    # --- identity migration -------------------------------------------------
    def import_user(self, *, email: str, passwordHash: str, lmsUserId: str) -> dict:
        if self.unavailable_after is not None and len(self.imports) >= self.unavailable_after:
            raise PortUnavailable(details={"port": "identity.import_user"})
        if email.lower() in self.conflicts:
            raise ApplicationError("An unverified account uses this email.", code="email_conflict_unverified",
                                   status_code=409)
        self.imports.append({"email": email, "passwordHash": passwordHash, "lmsUserId": lmsUserId})
        existing = self.accounts.get(email.lower())
        if existing:
            return {"userId": existing, "created": False}
        self.accounts[email.lower()] = str(uuid.uuid4())
        return {"userId": self.accounts[email.lower()], "created": True}


@pytest.fixture
def fake_identity():
    fake = FakeIdentity()
    use_provider("identity.validate_token", fake.validate_token)
    use_provider("identity.phase", fake.get_phase)
    use_provider("identity.set_phase", fake.set_phase)
    use_provider("identity.import_user", fake.import_user)
    return fake


def service_token(*scopes: str) -> str:
    return mint_service_token(client_id="commerce-service", scopes=list(scopes))


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
