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


# --- the LMS proper ---------------------------------------------------------

from decimal import Decimal  # noqa: E402

from learning.models import (  # noqa: E402
    Course,
    CourseStaff,
    Department,
    Enrollment,
    Exam,
    Lesson,
    Membership,
    Program,
    ProgramCourse,
    Question,
)


def department(name: str = "School", parent: Department | None = None) -> Department:
    """A tree node (treebeard builds paths, so no factory_boy here)."""
    return Department.objects.add_child(parent, {"name": name}) if parent else Department.objects.add_root({"name": name})


def department_chain(depth: int, *, name: str = "Level") -> list[Department]:
    """A root and ``depth - 1`` descendants, one per level."""
    nodes = [department(f"{name} 1")]
    for level in range(2, depth + 1):
        nodes.append(department(f"{name} {level}", nodes[-1]))
    return nodes


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    description = "What you will learn."
    department = factory.LazyFunction(lambda: department(f"Dept {uuid.uuid4().hex[:6]}"))
    suggested_price = Decimal("199.00")
    currency = "USD"
    status = "published"
    published_at = factory.LazyFunction(timezone.now)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    title = factory.Sequence(lambda n: f"Program {n}")
    department = factory.LazyFunction(lambda: department(f"Dept {uuid.uuid4().hex[:6]}"))
    suggested_price = Decimal("499.00")
    currency = "USD"
    status = "published"
    published_at = factory.LazyFunction(timezone.now)


class ProgramCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramCourse

    program = factory.SubFactory(ProgramFactory)
    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n + 1)


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Lesson {n}")
    body = "Read this."


class ExamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exam

    course = factory.SubFactory(CourseFactory)
    title = "Final exam"
    pass_mark = 50
    max_attempts = 2


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    exam = factory.SubFactory(ExamFactory)
    position = factory.Sequence(lambda n: n + 1)
    kind = "multiple_choice"
    prompt = "Two plus two?"
    choices = ["3", "4"]
    correct_choice = 1


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    user = factory.SubFactory(LmsUserFactory)
    course = factory.SubFactory(CourseFactory)
    source = "manual"
    status = "active"
    granted_at = factory.LazyFunction(timezone.now)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(LmsUserFactory, user_types=["staff"])
    department = factory.LazyFunction(lambda: department())
    role = "department-admin"


class CourseStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseStaff

    course = factory.SubFactory(CourseFactory)
    user = factory.SubFactory(LmsUserFactory, user_types=["learner", "staff"])
    role = "instructor"
