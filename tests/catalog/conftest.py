import pytest

from identity.models import Role, UserRole
from tests.identity.factories import UserFactory


@pytest.fixture(autouse=True)
def _cheap_hashing(settings):
    settings.ARGON2_TIME_COST = 1
    settings.ARGON2_MEMORY_KIB = 1024
    settings.ARGON2_PARALLELISM = 1


@pytest.fixture
def user(db):
    return UserFactory(verified=True)


@pytest.fixture
def commerce_admin(db):
    admin = UserFactory(verified=True)
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    return admin
