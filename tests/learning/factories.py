import uuid

import bcrypt
import factory
from django.utils import timezone

from learning.models import LegacyCredential, LegacyHashBackup, LmsUser

LEGACY_PASSWORD = "legacy-pass-123"


def raw_bcrypt(password: str = LEGACY_PASSWORD, *, prefix: str = "2b") -> str:
    """A hash as the legacy LMS stored it (cost 4: the lowest bcrypt allows, to keep tests fast)."""
    raw = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    return f"${prefix}$" + raw[4:]


class LmsUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LmsUser

    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    commerce_user_id = factory.LazyFunction(lambda: str(uuid.uuid4()))


class LegacyUserFactory(LmsUserFactory):
    """A legacy LMS account not yet migrated: no Commerce link, a bcrypt credential."""

    email = factory.Sequence(lambda n: f"legacy{n}@example.com")
    commerce_user_id = None
    credential = factory.RelatedFactory("tests.learning.factories.LegacyCredentialFactory", "lms_user")

    class Meta:
        # The credential is a row of its own; the user needs no second save after it.
        skip_postgeneration_save = True


class LegacyCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegacyCredential

    class Params:
        password = LEGACY_PASSWORD

    lms_user = factory.SubFactory(LmsUserFactory, commerce_user_id=None)
    password_hash = factory.LazyAttribute(lambda o: "bcrypt$" + raw_bcrypt(o.password))
    imported_at = factory.LazyFunction(timezone.now)


class LegacyHashBackupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegacyHashBackup

    lms_user = factory.SubFactory(LmsUserFactory)
    email = factory.LazyAttribute(lambda o: o.lms_user.email)
    password_hash = factory.LazyFunction(lambda: "bcrypt$" + raw_bcrypt())
    backed_up_at = factory.LazyFunction(timezone.now)
    batch_id = factory.LazyFunction(uuid.uuid4)
