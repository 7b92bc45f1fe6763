"""Reads: LMS users, the SSO look-up (spec 6.2.1) and the legacy-account report."""

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db.models import CharField, Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Cast, Lower
from django.utils.dateparse import parse_datetime

from integration.contracts.learning import InteractionCounts, InteractionStatus
from integration.errors import ApplicationError
from integration.money import quantize
from integration.ports.identity import identity_port
from learning.errors import CourseNotFound, InvalidCursor
from learning.models import (
    LIVE_ENROLLMENT_STATUSES,
    Certificate,
    Course,
    CourseClass,
    CourseCompletion,
    Enrollment,
    Exam,
    ExamAttempt,
    Interaction,
    InteractionKind,
    LegacyCredential,
    LegacyHashBackup,
    Lesson,
    LessonCompletion,
    LmsUser,
    Program,
    ProgramCourse,
    PublishStatus,
    Question,
)

IDENTITY_PHASE_CACHE_KEY = "learning:identity-phase"
IDENTITY_PHASE_UNKNOWN_CACHE_KEY = "learning:identity-phase-unknown"
# Short enough that a phase change (or a rollback) reaches every LMS process within seconds,
# long enough that a busy SSO page does not ask identity on every request.
IDENTITY_PHASE_CACHE_SECONDS = 10


def identity_phase_cached() -> int:
    """The identity migration phase (1, 2 or 3), asked of identity at most every ten seconds."""
    phase = cache.get(IDENTITY_PHASE_CACHE_KEY)
    if phase is None:
        phase = identity_port().phase().phase
        cache.set(IDENTITY_PHASE_CACHE_KEY, phase, IDENTITY_PHASE_CACHE_SECONDS)
    return phase


def identity_phase_if_known() -> int | None:
    """The phase for things that can do without it (a notice on a page); ``None`` while identity does not answer.

    A failure is remembered for the same ten seconds, so a page shown while the store is
    down does not wait for the port's timeout on every request.
    """
    if cache.get(IDENTITY_PHASE_UNKNOWN_CACHE_KEY):
        return None
    try:
        return identity_phase_cached()
    except ApplicationError:
        cache.set(IDENTITY_PHASE_UNKNOWN_CACHE_KEY, True, IDENTITY_PHASE_CACHE_SECONDS)
        return None


def identity_phase_forget() -> None:
    cache.delete_many([IDENTITY_PHASE_CACHE_KEY, IDENTITY_PHASE_UNKNOWN_CACHE_KEY])


def lms_user_get(*, lms_user_id) -> LmsUser | None:
    return LmsUser.objects.filter(pk=lms_user_id).first()


def sso_user_lookup(*, commerce_user_id: str) -> dict:
    """Spec 6.2.1 ``SSOUserResponse`` for one Commerce user id."""
    user = (LmsUser.objects.filter(commerce_user_id=commerce_user_id)
            .only("id", "user_types").first())
    if user is None:
        return {"success": True, "data": {"exists": False}}
    return {"success": True, "data": {
        "exists": True,
        "lmsUserId": str(user.id),
        "userTypes": list(user.user_types),
        "hasActiveEnrollments": Enrollment.objects.filter(user_id=user.pk, status="active").exists(),
    }}


def _has_credential():
    return Exists(LegacyCredential.objects.filter(lms_user_id=OuterRef("pk")))


def _has_backup():
    return Exists(LegacyHashBackup.objects.filter(lms_user_id=OuterRef("pk")))


def legacy_accounts() -> QuerySet[LmsUser]:
    """LMS users that came from the legacy LMS: they hold a credential, or held one before migration."""
    return LmsUser.objects.filter(Q(_has_credential()) | Q(_has_backup()))


def legacy_duplicate_emails() -> list[str]:
    """Emails (lower-cased) shared by more than one legacy credential; migration refuses while any exist."""
    return list(
        LegacyCredential.objects.annotate(email_ci=Lower("lms_user__email"))
        .values("email_ci").annotate(accounts=Count("pk")).filter(accounts__gt=1)
        .order_by("email_ci").values_list("email_ci", flat=True)
    )


def legacy_migration_candidates() -> QuerySet[LmsUser]:
    """Users whose legacy credential is still in the LMS (not migrated, or restored by a rollback)."""
    return LmsUser.objects.filter(_has_credential())


def legacy_migrated_accounts() -> QuerySet[LmsUser]:
    return LmsUser.objects.filter(_has_backup(), ~Q(_has_credential()), commerce_user_id__isnull=False)


def legacy_restore_candidates() -> QuerySet[LmsUser]:
    """Users with a backup that has not been restored yet."""
    return LmsUser.objects.filter(
        Exists(LegacyHashBackup.objects.filter(lms_user_id=OuterRef("pk"), restored_at__isnull=True)))


def legacy_report() -> dict:
    """The wire answer of provider ``lms.legacy_report``."""
    return {
        "legacyAccounts": legacy_accounts().count(),
        "withPassword": LegacyCredential.objects.count(),
        "migrated": legacy_migrated_accounts().count(),
        "duplicateEmails": legacy_duplicate_emails(),
    }


# ===========================================================================
# The LMS proper: catalog export, learners' courses, the player, queues, interactions, personal data.
# ===========================================================================

CATALOG_DEFAULT_LIMIT = 100
CATALOG_MAX_LIMIT = 500


def _encode_cursor(updated_at: datetime, pk) -> str:
    raw = json.dumps([updated_at.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        parsed = parse_datetime(when)
        uuid.UUID(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidCursor(details={"cursor": cursor[:100]}) from None
    if parsed is None:
        raise InvalidCursor(details={"cursor": cursor[:100]})
    return parsed, pk


def _export_course(course: Course) -> dict:
    metadata = {"departmentId": str(course.department_id), "departmentName": course.department.name,
                "requiresApproval": course.requires_approval}
    if course.duration_weeks is not None:
        metadata["durationWeeks"] = course.duration_weeks
    if course.thumbnail_url:
        metadata["thumbnailUrl"] = course.thumbnail_url
    if course.instructor_name:
        metadata["instructorName"] = course.instructor_name
    return {"externalId": str(course.pk), "type": "course", "name": course.title, "description": course.description,
            "suggestedPrice": quantize(course.suggested_price, course.currency), "currency": course.currency, "status": course.status,
            "metadata": metadata, "updatedAt": course.updated_at}


def _export_program(program: Program) -> dict:
    metadata = {"departmentId": str(program.department_id), "departmentName": program.department.name,
                "programKind": program.kind, "requiresApproval": program.requires_approval,
                "courseIds": [str(pc.course_id) for pc in program.program_courses.all()]}
    if program.duration_weeks is not None:
        metadata["durationWeeks"] = program.duration_weeks
    if program.thumbnail_url:
        metadata["thumbnailUrl"] = program.thumbnail_url
    if program.instructor_name:
        metadata["instructorName"] = program.instructor_name
    return {"externalId": str(program.pk), "type": "program", "name": program.title,
            "description": program.description, "suggestedPrice": quantize(program.suggested_price, program.currency),
            "currency": program.currency, "status": program.status, "metadata": metadata,
            "updatedAt": program.updated_at}


def _export_class(course_class: CourseClass) -> dict:
    course = course_class.course
    metadata = {"departmentId": str(course.department_id), "departmentName": course.department.name,
                "courseId": str(course.pk), "capacity": course_class.capacity,
                "schedule": course_class.schedule, "startsAt": course_class.starts_at.isoformat()}
    if course.instructor_name:  # a class shows its course's instructor name
        metadata["instructorName"] = course.instructor_name
    return {"externalId": str(course_class.pk), "type": "class", "name": f"{course.title}: {course_class.title}",
            "description": course.description, "suggestedPrice": quantize(course.suggested_price, course.currency),
            "currency": course.currency, "status": course_class.status,
            "metadata": metadata, "updatedAt": course_class.updated_at}


def catalog_export_page(*, updated_since=None, product_type: str | None = None, department_id: str | None = None,
                        limit: int | None = None, cursor: str | None = None) -> dict:
    """Spec 6.2.3's ``data``: published and archived products, oldest change first, one keyset page.

    The cursor is the (updatedAt, id) of the last product given out, so a product inserted or
    updated while a client walks the list is neither skipped nor repeated before its new place;
    every page costs the same few indexed queries (one per product type) however deep it is.
    """
    limit = max(1, min(int(limit or CATALOG_DEFAULT_LIMIT), CATALOG_MAX_LIMIT))
    if isinstance(updated_since, str):
        updated_since = parse_datetime(updated_since)
    after = _decode_cursor(cursor) if cursor else None
    shown = Q(status=PublishStatus.PUBLISHED) | Q(status=PublishStatus.ARCHIVED, published_at__isnull=False)

    def window(queryset, *, department_field: str):
        if updated_since is not None:
            queryset = queryset.filter(updated_at__gte=updated_since)
        if department_id:
            try:
                queryset = queryset.filter(**{department_field: uuid.UUID(str(department_id))})
            except ValueError:
                return []
        if after is not None:
            queryset = queryset.filter(Q(updated_at__gt=after[0]) | Q(updated_at=after[0], id__gt=after[1]))
        return list(queryset.order_by("updated_at", "id")[:limit + 1])

    rows: list[dict] = []
    if product_type in (None, "course"):
        rows += [_export_course(c) for c in window(Course.objects.filter(shown).select_related("department"),
                                                   department_field="department_id")]
    if product_type in (None, "program"):
        programs = Program.objects.filter(shown).select_related("department").prefetch_related(
            Prefetch("program_courses", queryset=ProgramCourse.objects.order_by("position")))
        rows += [_export_program(p) for p in window(programs, department_field="department_id")]
    if product_type in (None, "class"):
        classes = (CourseClass.objects.filter(course__published_at__isnull=False)
                   .filter(Q(status=PublishStatus.PUBLISHED) | Q(status=PublishStatus.ARCHIVED))
                   .select_related("course__department"))
        rows += [_export_class(k) for k in window(classes, department_field="course__department_id")]
    rows.sort(key=lambda row: (row["updatedAt"], row["externalId"]))
    has_more = len(rows) > limit
    page = rows[:limit]
    pagination = {"hasMore": has_more}
    if has_more and page:
        pagination["nextCursor"] = _encode_cursor(page[-1]["updatedAt"], page[-1]["externalId"])
    return {"products": page, "pagination": pagination}


# --- instructor interactions ----------------------------------------------------

def interaction_status(*, enrollment: Enrollment) -> InteractionStatus:
    """002's requirement for one enrollment, computed in one place (and one query, the course loaded).

    Met when an instructor is assigned and either an admin verified it manually, or (unless the
    course insists on manual verification) one of the course's minimums is reached; a course that
    sets no minimum asks for at least one interaction of any kind, as 002 lists them.
    """
    course = enrollment.course
    totals = {row["kind"]: row for row in Interaction.objects.filter(enrollment_id=enrollment.pk)
              .values("kind").annotate(total=Sum("quantity"),
                                       last_by=Max(Cast("recorded_by_id", CharField())))}

    def total(kind: str) -> int:
        return int(totals.get(kind, {}).get("total") or 0)

    actual = InteractionCounts(discussion_replies=total(InteractionKind.DISCUSSION_REPLY),
                               assignments_graded=total(InteractionKind.ASSIGNMENT_GRADED),
                               live_session_minutes=total(InteractionKind.LIVE_SESSION_MINUTES),
                               manual_verification=total(InteractionKind.MANUAL_VERIFICATION) > 0)
    required = InteractionCounts(
        discussion_replies=course.required_discussion_replies if course else 0,
        assignments_graded=course.required_assignments_graded if course else 0,
        live_session_minutes=course.required_live_session_minutes if course else 0,
        manual_verification=course.requires_manual_verification if course else False)
    minimums = [(required.discussion_replies, actual.discussion_replies),
                (required.assignments_graded, actual.assignments_graded),
                (required.live_session_minutes, actual.live_session_minutes)]
    configured = [(need, got) for need, got in minimums if need > 0]
    if actual.manual_verification:
        met = True
    elif required.manual_verification:
        met = False
    elif configured:
        met = any(got >= need for need, got in configured)
    else:
        met = any(got > 0 for _, got in minimums)
    verifier = totals.get(InteractionKind.MANUAL_VERIFICATION, {}).get("last_by")
    instructor = enrollment.instructor if enrollment.instructor_id else None
    return InteractionStatus(
        enrollment_id=str(enrollment.pk), required=required, actual=actual,
        eligible=bool(met and enrollment.instructor_id),
        instructor_id=str(enrollment.instructor_id) if enrollment.instructor_id else None,
        instructor_commerce_user_id=instructor.commerce_user_id if instructor else None,
        verified_by=str(uuid.UUID(str(verifier))) if verifier else None)  # the same spelling on every database


# --- learners: my courses, the player, certificates ------------------------------

@dataclass
class CourseProgress:
    course: Course
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class MyEnrollment:
    enrollment: Enrollment
    courses: list[CourseProgress] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(c.done for c in self.courses)

    @property
    def total(self) -> int:
        return sum(c.total for c in self.courses)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def my_enrollments(*, user, statuses: list[str] | None = None) -> list[MyEnrollment]:
    """The person's enrollments with progress per course: four queries however many there are."""
    enrollments = list(
        Enrollment.objects.filter(user=user, status__in=statuses or [*LIVE_ENROLLMENT_STATUSES, "expired"])
        .select_related("course__department", "program__department", "course_class")
        .prefetch_related(Prefetch("program__program_courses",
                                   queryset=ProgramCourse.objects.select_related("course").order_by("position")))
        .order_by("-granted_at"))
    course_ids = set()
    for enrollment in enrollments:
        if enrollment.course_id:
            course_ids.add(enrollment.course_id)
        else:
            course_ids |= {pc.course_id for pc in enrollment.program.program_courses.all()}
    totals = dict(Lesson.objects.filter(course_id__in=course_ids).values("course_id")
                  .annotate(n=Count("id")).values_list("course_id", "n"))
    done = dict(LessonCompletion.objects.filter(user=user, course_id__in=course_ids).values("course_id")
                .annotate(n=Count("id")).values_list("course_id", "n"))
    rows = []
    for enrollment in enrollments:
        courses = ([enrollment.course] if enrollment.course_id
                   else [pc.course for pc in enrollment.program.program_courses.all()])
        rows.append(MyEnrollment(enrollment, [CourseProgress(c, done.get(c.pk, 0), totals.get(c.pk, 0))
                                              for c in courses]))
    return rows


@dataclass
class Player:
    course: Course
    enrollment: Enrollment | None
    lessons: list
    done_ids: set
    exams: list
    attempts: dict  # exam id -> list of attempts
    certificate: Certificate | None
    completed: bool

    @property
    def percent(self) -> int:
        return round(100 * len(self.done_ids) / len(self.lessons)) if self.lessons else 0

    @property
    def next_lesson(self):
        return next((lesson for lesson in self.lessons if lesson.pk not in self.done_ids), None)


def course_player(*, user, course_id) -> Player:
    """What the course player shows: a bounded number of queries whatever the number of lessons."""
    from learning.services.progress import access_enrollment

    course = Course.objects.select_related("department").filter(pk=course_id).first()
    if course is None:
        raise CourseNotFound()
    enrollment = access_enrollment(user=user, course=course)
    lessons = list(Lesson.objects.filter(course=course).order_by("position"))
    done_ids = set(LessonCompletion.objects.filter(user=user, course=course).values_list("lesson_id", flat=True))
    exams = list(Exam.objects.filter(course=course).prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("position"))).order_by("created_at"))
    attempts: dict = {exam.pk: [] for exam in exams}
    for attempt in ExamAttempt.objects.filter(user=user, exam__course=course).order_by("number"):
        attempts[attempt.exam_id].append(attempt)
    certificate = Certificate.objects.filter(user=user, course=course).first()
    completed = CourseCompletion.objects.filter(user=user, course=course).exists()
    return Player(course, enrollment, lessons, done_ids, exams, attempts, certificate, completed)


def certificate_by_code(*, code: str) -> Certificate | None:
    return (Certificate.objects.select_related("course__department", "program__department", "user")
            .filter(code=code.strip().upper()).first())


# --- the LearningPort answers -------------------------------------------------

def personal_data(*, commerce_user_id: str) -> dict:
    """The LMS's data about one person, as the store's data download includes it (wire shape)."""
    user = LmsUser.objects.filter(commerce_user_id=commerce_user_id).first()
    if user is None:
        return {"exists": False}
    rows = my_enrollments(user=user, statuses=[choice for choice, _ in Enrollment._meta.get_field("status").choices])
    enrollments = []
    for row in rows:
        enrollment = row.enrollment
        kind, external = (("class", enrollment.course_class_id) if enrollment.course_class_id else
                          ("program", enrollment.program_id) if enrollment.program_id else
                          ("course", enrollment.course_id))
        enrollments.append({
            "enrollmentId": str(enrollment.pk), "productType": kind, "externalId": str(external),
            "title": enrollment.offering.title, "status": enrollment.status, "source": enrollment.source,
            "grantedAt": enrollment.granted_at, "expiresAt": enrollment.expires_at,
            "completedAt": enrollment.completed_at, "orderId": enrollment.commerce_order_id or None,
            "lessonsDone": row.done, "lessonsTotal": row.total})
    from learning.web import lms_url

    certificates = [{"code": c.code, "title": c.title, "issuedAt": c.issued_at,
                     "url": lms_url(f"/certificates/{c.code}/")}
                    for c in Certificate.objects.filter(user=user).order_by("issued_at")]
    attempts = [{"examTitle": a.exam.title, "courseTitle": a.exam.course.title, "number": a.number,
                 "scorePercent": a.score_percent, "passed": a.passed, "submittedAt": a.submitted_at}
                for a in ExamAttempt.objects.filter(user=user).select_related("exam__course").order_by("submitted_at")]
    return {"exists": True, "lmsUserId": str(user.pk), "email": user.email, "userTypes": list(user.user_types),
            "enrollments": enrollments, "certificates": certificates, "examAttempts": attempts,
            "lessonsCompleted": LessonCompletion.objects.filter(user=user).count()}


def course_info(*, external_id: str) -> dict:
    try:
        course = Course.objects.select_related("department").filter(pk=uuid.UUID(str(external_id))).first()
    except ValueError:
        course = None
    if course is None:
        raise CourseNotFound(details={"externalId": str(external_id)})
    staff = [{"lmsUserId": str(s.user_id), "commerceUserId": s.user.commerce_user_id, "email": s.user.email,
              "role": s.role} for s in course.staff.select_related("user").order_by("assigned_at")]
    return {"courseId": str(course.pk), "title": course.title, "status": course.status,
            "departmentId": str(course.department_id), "departmentName": course.department.name,
            "suggestedPrice": quantize(course.suggested_price, course.currency), "currency": course.currency, "staff": staff}


def enrollments_completed(*, commerce_user_id: str, order_item_ids: list[str]) -> dict:
    """Per order item id of this buyer: is the enrollment it gave completed? (Commerce's refund check.)

    The order line is the entitlement line (which also names the enrollment an ``already_enrolled`` line
    joined), else an enrollment carrying that ``commerce_order_item_id``. Completed means status
    ``completed``, a completion time, or the course's completion recorded for the person. Three queries
    whatever the number of ids.
    """
    from learning.models import EntitlementLine

    wanted = list(dict.fromkeys(str(item_id) for item_id in order_item_ids))
    enrollment_of: dict[str, Enrollment] = {}
    lines = (EntitlementLine.objects.select_related("enrollment")
             .filter(commerce_user_id=commerce_user_id, order_item_id__in=wanted, enrollment__isnull=False))
    for line in lines:
        enrollment_of[line.order_item_id] = line.enrollment
    missing = [item_id for item_id in wanted if item_id not in enrollment_of]
    if missing:
        for enrollment in Enrollment.objects.filter(user__commerce_user_id=commerce_user_id,
                                                    commerce_order_item_id__in=missing):
            enrollment_of.setdefault(enrollment.commerce_order_item_id, enrollment)
    course_pairs = {(e.user_id, e.course_id) for e in enrollment_of.values() if e.course_id}
    completions = {}
    if course_pairs:
        query = Q()
        for user_id, course_id in course_pairs:
            query |= Q(user_id=user_id, course_id=course_id)
        completions = {(c.user_id, c.course_id): c.completed_at for c in CourseCompletion.objects.filter(query)}
    items = []
    for item_id in wanted:
        enrollment = enrollment_of.get(item_id)
        if enrollment is None:
            items.append({"orderItemId": item_id, "completed": False})
            continue
        completed_at = enrollment.completed_at or completions.get((enrollment.user_id, enrollment.course_id))
        completed = enrollment.status == "completed" or completed_at is not None
        items.append({"orderItemId": item_id, "completed": completed, "enrollmentId": str(enrollment.id),
                      "status": enrollment.status, "completedAt": completed_at})
    return {"items": items}
