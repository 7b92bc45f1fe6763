import pytest
from django.core.cache import cache, caches

from identity.models import Role, UserRole
from identity.services.tokens import token_pair_issue
from integration.service_auth import mint_service_token
from tests.identity.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _cheap_hashing(settings):
    """Argon2id with token costs so the suite runs fast; the benchmark measures the real costs."""
    settings.ARGON2_TIME_COST = 1
    settings.ARGON2_MEMORY_KIB = 1024
    settings.ARGON2_PARALLELISM = 1


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(verified=True)


@pytest.fixture
def commerce_admin(db):
    admin = UserFactory(verified=True)
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    return admin


@pytest.fixture
def tokens():
    """``tokens(user)`` → a fresh sign-in's TokenPair."""
    return lambda user: token_pair_issue(user=user)


@pytest.fixture
def service_token():
    """``service_token("roles:write", ...)`` → a Bearer header value for a service client."""
    return lambda *scopes, client_id="lms-service": "Bearer " + mint_service_token(client_id=client_id,
                                                                                  scopes=list(scopes))


@pytest.fixture
def bearer():
    return lambda access: {"HTTP_AUTHORIZATION": f"Bearer {access}"}


@pytest.fixture
def empty_cache():
    """Forget everything cached, security state included (a restarted Redis, a new process)."""
    def clear():
        cache.clear()
        caches["security"].clear()
    return clear
