"""Departments, courses, programs, classes and content; every change Commerce shows is pushed (spec 5.2).

Publishing, a change to what the store shows (name, description, suggested price, program
structure, duration, thumbnail) while published, and archiving each write ``catalog.sync``
to the outbox in the same transaction as the change.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from integration.mail import send_templated_email
from integration.money import quantize
from learning import remote
from learning.errors import DepartmentInvalid, InvalidAnswers, InvalidStatusChange
from learning.models import (
    Course,
    CourseClass,
    CourseStaff,
    Department,
    Exam,
    Lesson,
    LmsUser,
    Program,
    ProgramCourse,
    PublishStatus,
    Question,
    QuestionKind,
)
from learning.services.users import lms_user_mailable
from learning.web import lms_url

# The fields whose change the store shows (and therefore re-sends while published).
SHOWN_FIELDS = {"title", "description", "suggested_price", "currency", "duration_weeks", "thumbnail_url",
                "instructor_name"}


# --- the wire shape of one product ------------------------------------------

def course_product(course: Course, *, action: str) -> dict:
    metadata = {"departmentId": str(course.department_id), "departmentName": course.department.name,
                "requiresApproval": course.requires_approval}
    if course.duration_weeks is not None:
        metadata["durationWeeks"] = course.duration_weeks
    if course.thumbnail_url:
        metadata["thumbnailUrl"] = course.thumbnail_url
    if course.instructor_name:
        metadata["instructorName"] = course.instructor_name
    return {"action": action, "externalId": str(course.id), "type": "course", "name": course.title,
            "description": course.description, "suggestedPrice": quantize(course.suggested_price, course.currency),
            "currency": course.currency, "metadata": metadata}


def program_product(program: Program, *, action: str, course_ids: list[str] | None = None) -> dict:
    if course_ids is None:
        course_ids = [str(pc.course_id) for pc in program.program_courses.order_by("position")]
    metadata = {"departmentId": str(program.department_id), "departmentName": program.department.name,
                "programKind": program.kind, "courseIds": course_ids, "requiresApproval": program.requires_approval}
    if program.duration_weeks is not None:
        metadata["durationWeeks"] = program.duration_weeks
    if program.thumbnail_url:
        metadata["thumbnailUrl"] = program.thumbnail_url
    if program.instructor_name:
        metadata["instructorName"] = program.instructor_name
    return {"action": action, "externalId": str(program.id), "type": "program", "name": program.title,
            "description": program.description, "suggestedPrice": quantize(program.suggested_price, program.currency),
            "currency": program.currency, "metadata": metadata}


def class_product(course_class: CourseClass, *, action: str) -> dict:
    course = course_class.course
    metadata = {"departmentId": str(course.department_id), "departmentName": course.department.name,
                "courseId": str(course.id), "startsAt": course_class.starts_at.isoformat(),
                "capacity": course_class.capacity, "schedule": course_class.schedule}
    if instructor_name := class_instructor_name(course_class):
        metadata["instructorName"] = instructor_name
    return {"action": action, "externalId": str(course_class.id), "type": "class",
            "name": f"{course.title}: {course_class.title}", "description": course.description,
            "suggestedPrice": quantize(course.suggested_price, course.currency), "currency": course.currency, "metadata": metadata}


def class_instructor_name(course_class: CourseClass) -> str:
    """A class shows its course's instructor name (the class's own instructor is an LMS account, not a name)."""
    return course_class.course.instructor_name


def _push(product: dict, *, aggregate_key: str) -> None:
    remote.catalog_sync_send(products=[product], aggregate_key=aggregate_key)


# --- departments ------------------------------------------------------------

@transaction.atomic
def department_create(*, name: str, parent: Department | None = None) -> Department:
    name = name.strip()
    if not name:
        raise DepartmentInvalid("A department needs a name.")
    if parent is None:
        return Department.objects.add_root({"name": name})
    parent = Department.objects.select_for_update().get(pk=parent.pk)
    return Department.objects.add_child(parent, {"name": name})


@transaction.atomic
def department_rename(*, department: Department, name: str, now: datetime) -> Department:
    name = name.strip()
    if not name:
        raise DepartmentInvalid("A department needs a name.")
    department.name = name
    department.save(update_fields=["name", "updated_at"])
    return department


# --- courses ------------------------------------------------------------------

def _clean_money(price: Decimal, currency: str) -> tuple[Decimal, str]:
    if price < 0:
        raise DepartmentInvalid("The suggested price cannot be negative.", details={"suggestedPrice": str(price)})
    currency = (currency or "").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DepartmentInvalid("The currency must be an ISO 4217 code.", details={"currency": currency})
    return price, currency


@transaction.atomic
def course_create(*, department: Department, title: str, description: str = "", suggested_price: Decimal,
                  currency: str, duration_weeks: int | None = None, requires_approval: bool = False,
                  thumbnail_url: str = "", instructor_name: str = "", now: datetime,
                  created_by: LmsUser | None = None) -> Course:
    price, currency = _clean_money(suggested_price, currency)
    course = Course.objects.create(department=department, title=title.strip(), description=description,
                                   suggested_price=price, currency=currency, duration_weeks=duration_weeks,
                                   requires_approval=requires_approval, thumbnail_url=thumbnail_url,
                                   instructor_name=instructor_name.strip(), created_at=now, updated_at=now)
    if created_by is not None and not created_by.memberships.exists():
        CourseStaff.objects.get_or_create(course=course, user=created_by, role="content-creator",
                                          defaults={"assigned_at": now})
    return course


@transaction.atomic
def course_update(*, course: Course, now: datetime, **changes) -> Course:
    """Changes the given fields; a published course re-sends itself when a shown field changed."""
    allowed = SHOWN_FIELDS | {"requires_approval", "required_discussion_replies", "required_assignments_graded",
                              "required_live_session_minutes", "requires_manual_verification"}
    unknown = set(changes) - allowed
    if unknown:
        raise DepartmentInvalid(f"Unknown course fields: {', '.join(sorted(unknown))}.")
    if "suggested_price" in changes or "currency" in changes:
        changes["suggested_price"], changes["currency"] = _clean_money(
            changes.get("suggested_price", course.suggested_price), changes.get("currency", course.currency))
    course = Course.objects.select_for_update().select_related("department").get(pk=course.pk)
    changed = {name for name, value in changes.items() if getattr(course, name) != value}
    if not changed:
        return course
    for name in changed:
        setattr(course, name, changes[name])
    course.updated_at = now
    course.save(update_fields=[*changed, "updated_at"])
    if course.status == PublishStatus.PUBLISHED and changed & (SHOWN_FIELDS | {"requires_approval"}):
        _push(course_product(course, action="upsert"), aggregate_key=f"course:{course.pk}")
    return course


@transaction.atomic
def course_publish(*, course: Course, now: datetime) -> Course:
    course = Course.objects.select_for_update().select_related("department").get(pk=course.pk)
    if course.status == PublishStatus.PUBLISHED:
        return course
    course.status = PublishStatus.PUBLISHED
    course.published_at = course.published_at or now
    course.updated_at = now
    course.save(update_fields=["status", "published_at", "updated_at"])
    _push(course_product(course, action="upsert"), aggregate_key=f"course:{course.pk}")
    return course


@transaction.atomic
def course_archive(*, course: Course, now: datetime) -> Course:
    course = Course.objects.select_for_update().select_related("department").get(pk=course.pk)
    if course.status == PublishStatus.ARCHIVED:
        return course
    was_published = course.status == PublishStatus.PUBLISHED or course.published_at is not None
    course.status = PublishStatus.ARCHIVED
    course.updated_at = now
    course.save(update_fields=["status", "updated_at"])
    if was_published:
        _push(course_product(course, action="archive"), aggregate_key=f"course:{course.pk}")
    return course


@transaction.atomic
def course_staff_assign(*, course: Course, user: LmsUser, role: str, now: datetime) -> CourseStaff:
    staff, created = CourseStaff.objects.get_or_create(course=course, user=user, role=role,
                                                       defaults={"assigned_at": now})
    if "staff" not in user.user_types:
        user.user_types = [*user.user_types, "staff"]
        user.save(update_fields=["user_types", "updated_at"])
    if created:
        _staff_email(course=course, user=user, role=role)
    return staff


_COURSE_ROLE_WORDS = {
    "instructor": ("an", "instructor", "you see its learners, grade their exams and record your interactions "
                                       "with them."),
    "content-creator": ("a", "content creator", "you edit its lessons and exams."),
}


def _staff_email(*, course: Course, user: LmsUser, role: str) -> None:
    """Tells the person they were put on a course's staff (after the commit)."""
    if not lms_user_mailable(user):
        return
    article, label, meaning = _COURSE_ROLE_WORDS.get(role, ("a", role, ""))
    send_templated_email(to=user.email, template="lms_course_staff_assigned", context={
        "title": course.title, "role": role, "role_article": article, "role_label": label,
        "role_meaning": meaning, "teach_url": lms_url(f"/lms/teach/courses/{course.pk}/")})


@transaction.atomic
def course_staff_remove(*, course: Course, user: LmsUser, role: str) -> None:
    CourseStaff.objects.filter(course=course, user=user, role=role).delete()


# --- programs -------------------------------------------------------------

@transaction.atomic
def program_create(*, department: Department, title: str, description: str = "", kind: str = "certificate",
                   suggested_price: Decimal, currency: str, duration_weeks: int | None = None,
                   requires_approval: bool = False, thumbnail_url: str = "", instructor_name: str = "",
                   courses: list[Course] = (), now: datetime) -> Program:
    price, currency = _clean_money(suggested_price, currency)
    program = Program.objects.create(department=department, title=title.strip(), description=description, kind=kind,
                                     suggested_price=price, currency=currency, duration_weeks=duration_weeks,
                                     requires_approval=requires_approval, thumbnail_url=thumbnail_url,
                                     instructor_name=instructor_name.strip(), created_at=now, updated_at=now)
    ProgramCourse.objects.bulk_create([ProgramCourse(program=program, course=course, position=index)
                                       for index, course in enumerate(courses, start=1)])
    return program


@transaction.atomic
def program_courses_set(*, program: Program, courses: list[Course], now: datetime) -> Program:
    """The program's courses, in this order (its structure: re-sent to the store while published)."""
    program = Program.objects.select_for_update().select_related("department").get(pk=program.pk)
    if len({c.pk for c in courses}) != len(courses):
        raise DepartmentInvalid("A course appears twice in the program.")
    ProgramCourse.objects.filter(program=program).delete()
    ProgramCourse.objects.bulk_create([ProgramCourse(program=program, course=course, position=index)
                                       for index, course in enumerate(courses, start=1)])
    program.updated_at = now
    program.save(update_fields=["updated_at"])
    if program.status == PublishStatus.PUBLISHED:
        _push(program_product(program, action="upsert", course_ids=[str(c.pk) for c in courses]),
              aggregate_key=f"program:{program.pk}")
    return program


@transaction.atomic
def program_update(*, program: Program, now: datetime, **changes) -> Program:
    unknown = set(changes) - (SHOWN_FIELDS | {"requires_approval", "kind"})
    if unknown:
        raise DepartmentInvalid(f"Unknown program fields: {', '.join(sorted(unknown))}.")
    program = Program.objects.select_for_update().select_related("department").get(pk=program.pk)
    changed = {name for name, value in changes.items() if getattr(program, name) != value}
    if not changed:
        return program
    for name in changed:
        setattr(program, name, changes[name])
    program.updated_at = now
    program.save(update_fields=[*changed, "updated_at"])
    if program.status == PublishStatus.PUBLISHED:
        _push(program_product(program, action="upsert"), aggregate_key=f"program:{program.pk}")
    return program


@transaction.atomic
def program_publish(*, program: Program, now: datetime) -> Program:
    program = Program.objects.select_for_update().select_related("department").get(pk=program.pk)
    if program.status == PublishStatus.PUBLISHED:
        return program
    program.status = PublishStatus.PUBLISHED
    program.published_at = program.published_at or now
    program.updated_at = now
    program.save(update_fields=["status", "published_at", "updated_at"])
    _push(program_product(program, action="upsert"), aggregate_key=f"program:{program.pk}")
    return program


@transaction.atomic
def program_archive(*, program: Program, now: datetime) -> Program:
    program = Program.objects.select_for_update().select_related("department").get(pk=program.pk)
    if program.status == PublishStatus.ARCHIVED:
        return program
    was_published = program.published_at is not None
    program.status = PublishStatus.ARCHIVED
    program.updated_at = now
    program.save(update_fields=["status", "updated_at"])
    if was_published:
        _push(program_product(program, action="archive"), aggregate_key=f"program:{program.pk}")
    return program


# --- classes --------------------------------------------------------------

@transaction.atomic
def class_create(*, course: Course, title: str, starts_at: datetime, ends_at: datetime, capacity: int,
                 schedule: str = "", instructor: LmsUser | None = None, publish: bool = True,
                 now: datetime) -> CourseClass:
    if ends_at <= starts_at:
        raise InvalidStatusChange("A class must end after it starts.")
    if capacity < 1:
        raise InvalidStatusChange("A class needs at least one seat.")
    course_class = CourseClass.objects.create(
        course=course, title=title, starts_at=starts_at, ends_at=ends_at, capacity=capacity, schedule=schedule,
        instructor=instructor, status=PublishStatus.PUBLISHED if publish else PublishStatus.DRAFT,
        created_at=now, updated_at=now)
    if instructor is not None:
        course_staff_assign(course=course, user=instructor, role="instructor", now=now)
    if publish and course.status == PublishStatus.PUBLISHED:
        course_class = CourseClass.objects.select_related("course__department").get(pk=course_class.pk)
        _push(class_product(course_class, action="upsert"), aggregate_key=f"class:{course_class.pk}")
    return course_class


# --- content ----------------------------------------------------------------

@transaction.atomic
def lesson_create(*, course: Course, title: str, body: str = "", video_url: str = "", attachment=None,
                  now: datetime) -> Lesson:
    Course.objects.select_for_update().filter(pk=course.pk).first()
    position = (Lesson.objects.filter(course=course).aggregate(m=Max("position"))["m"] or 0) + 1
    lesson = Lesson(course=course, position=position, title=title, body=body, video_url=video_url, created_at=now)
    if attachment is not None:
        lesson.attachment = attachment
    lesson.save()
    return lesson


@transaction.atomic
def lesson_update(*, lesson: Lesson, title: str, body: str, video_url: str) -> Lesson:
    lesson.title, lesson.body, lesson.video_url = title, body, video_url
    lesson.save(update_fields=["title", "body", "video_url", "updated_at"])
    return lesson


@transaction.atomic
def exam_create(*, course: Course, title: str, pass_mark: int = 70, max_attempts: int = 3,
                questions: list[dict] = (), now: datetime) -> Exam:
    """``questions``: ``{"kind", "prompt", "choices"?, "correctChoice"?, "correctChoices"?, "points"?}`` each."""
    if not 0 <= pass_mark <= 100 or max_attempts < 1:
        raise InvalidAnswers("The pass mark is a percent and an exam allows at least one attempt.")
    exam = Exam.objects.create(course=course, title=title, pass_mark=pass_mark, max_attempts=max_attempts,
                               created_at=now)
    rows = []
    for index, question in enumerate(questions, start=1):
        kind = question["kind"]
        choices = list(question.get("choices") or [])
        several = sorted({int(i) for i in question.get("correctChoices") or []})
        correct = several[0] if several else question.get("correctChoice")
        if kind == QuestionKind.MULTIPLE_CHOICE and (len(choices) < 2 or correct is None
                                                     or not 0 <= int(correct) < len(choices)
                                                     or any(not 0 <= i < len(choices) for i in several)):
            raise InvalidAnswers("A multiple-choice question needs two choices or more and a correct one.",
                                 details={"question": index})
        if kind == QuestionKind.SHORT_ANSWER:
            choices, correct, several = [], None, []
        rows.append(Question(exam=exam, position=index, kind=kind, prompt=question["prompt"], choices=choices,
                             correct_choice=correct, correct_choices=several if len(several) > 1 else [],
                             points=int(question.get("points") or 1)))
    Question.objects.bulk_create(rows)
    return exam
