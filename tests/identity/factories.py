import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from factory.django import DjangoModelFactory

from identity.models import RoleAuditLog, ServiceClient, User, UserRole

PASSWORD = "correct-horse-battery-9"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.LazyFunction(lambda: make_password(PASSWORD))

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=bool(extracted))


class UserRoleFactory(DjangoModelFactory):
    class Meta:
        model = UserRole

    user = factory.SubFactory(UserFactory)
    role = "payee"
    granted_by = "system:tests"


class RoleAuditLogFactory(DjangoModelFactory):
    class Meta:
        model = RoleAuditLog

    user_id = factory.LazyFunction(lambda: UserFactory().pk)
    role = "payee"
    action = "grant"
    actor = "system:tests"
    reason = "tests"
    changed = True


class ServiceClientFactory(DjangoModelFactory):
    class Meta:
        model = ServiceClient
        skip_postgeneration_save = True

    client_id = factory.Sequence(lambda n: f"client-{n}")
    secret_hash = factory.LazyFunction(lambda: make_password("s3cret-s3cret-s3cret"))
    scopes = factory.LazyFunction(lambda: ["tokens:validate"])
