"""LMS users and the legacy LMS credentials kept until identity migration phase 3.

Commerce owns identity: an ``LmsUser`` points at its Commerce identity only by the
opaque ``commerce_user_id`` (never a ForeignKey, the identity lives in another
service). Legacy LMS accounts keep their imported password hash in a
``LegacyCredential`` until ``migrate_lms_identities`` hands it to Commerce, leaving
a ``LegacyHashBackup`` for ``rollback_identity_phase``.
"""

import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from treebeard.mp_tree import MP_Node


class LmsUserType(models.TextChoices):
    LEARNER = "learner", "Learner"
    STAFF = "staff", "Staff"
    GLOBAL_ADMIN = "global-admin", "Global admin"


def default_user_types() -> list[str]:
    return [LmsUserType.LEARNER.value]


class LmsUser(models.Model):
    """A person in the LMS; ``id`` is the ``lmsUserId`` of the wire contracts.

    It also serves as ``request.user`` on LMS API views (``CommerceBearerAuthentication``,
    ``LmsSessionAuthentication``), hence the few user-like attributes below.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    commerce_user_id = models.CharField(
        max_length=64, unique=True, null=True, blank=True,
        help_text="The opaque Commerce identity id (commerceUserId); empty for a legacy account not yet migrated.")
    email = models.EmailField(max_length=254, help_text="Cached from Commerce (or the legacy import).")
    user_types = models.JSONField(default=default_user_types, help_text="learner, staff, global-admin")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "LMS user"
        constraints = [
            models.CheckConstraint(condition=Q(commerce_user_id__isnull=True) | ~Q(commerce_user_id=""),
                                   name="learning_lmsuser_commerce_id_not_blank"),
        ]
        indexes = [models.Index(Lower("email"), name="learning_lmsuser_email_ci")]

    def __str__(self) -> str:
        return self.email

    # What DRF and templates expect of ``request.user``.
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    @property
    def lms_user_id(self) -> str:
        return str(self.id)


class LegacyCredential(models.Model):
    """The password hash of a legacy LMS account, in Django's format (bcrypt as ``bcrypt$$2b$…``)."""

    lms_user = models.OneToOneField(LmsUser, on_delete=models.CASCADE, related_name="legacy_credential")
    password_hash = models.CharField(max_length=255)
    imported_at = models.DateTimeField()
    source_created_at = models.DateTimeField(null=True, blank=True,
                                             help_text="createdAt of the account in the legacy LMS.")

    class Meta:
        verbose_name = "legacy LMS credential"
        constraints = [
            models.CheckConstraint(condition=~Q(password_hash=""), name="learning_legacycredential_hash_not_blank"),
        ]

    def __str__(self) -> str:
        return f"legacy credential of {self.lms_user_id}"


class LegacyHashBackup(models.Model):
    """A copy of a legacy hash taken when the account moved to Commerce; restored on rollback.

    Rows are only ever added, marked restored, or deleted when the person's data is erased.
    """

    lms_user = models.ForeignKey(LmsUser, on_delete=models.PROTECT, related_name="legacy_hash_backups")
    email = models.EmailField(max_length=254)
    password_hash = models.CharField(max_length=255)
    source_created_at = models.DateTimeField(null=True, blank=True)
    backed_up_at = models.DateTimeField()
    batch_id = models.UUIDField(help_text="The migrate_lms_identities run (and batch) that took the backup.")
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "legacy hash backup"
        constraints = [
            models.CheckConstraint(condition=Q(restored_at__isnull=True) | Q(restored_at__gte=models.F("backed_up_at")),
                                   name="learning_legacyhashbackup_restored_after_backup"),
        ]
        indexes = [
            models.Index(fields=["lms_user", "backed_up_at"], name="learning_backup_user_time"),
            models.Index(fields=["batch_id"], name="learning_backup_batch"),
        ]

    def __str__(self) -> str:
        return f"backup of {self.lms_user_id} at {self.backed_up_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------------------
# Organisation: departments (a tree), programs, courses, classes, content.
# ---------------------------------------------------------------------------



class Department(MP_Node):
    """A node of the organisation tree (materialised path: "this and all below" is one ``path LIKE``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # No node_order_by: siblings keep their insertion order, so a node's path never moves under it.

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(name=""), name="learning_department_name_not_blank")]

    def __str__(self) -> str:
        return self.name


class PublishStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Offering(models.Model):
    """What courses and programs share: what Commerce shows and sells."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=PublishStatus.choices, default=PublishStatus.DRAFT)
    suggested_price = models.DecimalField(max_digits=19, decimal_places=4, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    duration_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    thumbnail_url = models.URLField(max_length=2048, blank=True)
    instructor_name = models.CharField(max_length=200, blank=True,
                                       help_text="The instructor's name the store shows (metadata.instructorName).")
    requires_approval = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set by the services (never auto_now): the catalog export's keyset is (updated_at, id).
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.title


def _offering_constraints(prefix: str) -> list:
    return [
        models.CheckConstraint(condition=Q(suggested_price__gte=0), name=f"{prefix}_price_not_negative"),
        models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name=f"{prefix}_currency_iso"),
        models.CheckConstraint(condition=~Q(title=""), name=f"{prefix}_title_not_blank"),
        models.CheckConstraint(condition=Q(status__in=PublishStatus.values), name=f"{prefix}_status_valid"),
    ]


class Course(Offering):
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="courses")
    # The instructor interaction requirement (002 "Instructor Interaction Requirement"): minimums per enrollment.
    required_discussion_replies = models.PositiveIntegerField(default=0)
    required_assignments_graded = models.PositiveIntegerField(default=0)
    required_live_session_minutes = models.PositiveIntegerField(default=0)
    requires_manual_verification = models.BooleanField(default=False)

    class Meta:
        constraints = _offering_constraints("learning_course")
        indexes = [models.Index(fields=["updated_at", "id"], name="learning_course_keyset")]


class ProgramKind(models.TextChoices):
    CERTIFICATE = "certificate", "Certificate"
    DEGREE = "degree", "Degree"


class Program(Offering):
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="programs")
    kind = models.CharField(max_length=16, choices=ProgramKind.choices, default=ProgramKind.CERTIFICATE)
    courses = models.ManyToManyField(Course, through="ProgramCourse", related_name="programs")

    class Meta:
        constraints = _offering_constraints("learning_program")
        indexes = [models.Index(fields=["updated_at", "id"], name="learning_program_keyset")]


class ProgramCourse(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="program_courses")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="program_courses")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["program", "course"], name="learning_programcourse_once"),
            models.UniqueConstraint(fields=["program", "position"], name="learning_programcourse_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.course_id} in {self.program_id}"


class CourseClass(models.Model):
    """A course instance: a schedule, a capacity and an assigned instructor."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="classes")
    title = models.CharField(max_length=255)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    schedule = models.CharField(max_length=500, blank=True, help_text="e.g. Tuesdays 18:00-20:00 UTC")
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    instructor = models.ForeignKey("LmsUser", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="classes_taught")
    status = models.CharField(max_length=16, choices=PublishStatus.choices, default=PublishStatus.DRAFT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "class"
        verbose_name_plural = "classes"
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="learning_class_ends_after"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="learning_class_capacity_positive"),
        ]
        indexes = [models.Index(fields=["updated_at", "id"], name="learning_class_keyset")]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    video_url = models.URLField(max_length=2048, blank=True)
    attachment = models.FileField(upload_to="lessons/", blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "position"]
        constraints = [models.UniqueConstraint(fields=["course", "position"], name="learning_lesson_position")]

    def __str__(self) -> str:
        return self.title


class Exam(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="exams")
    title = models.CharField(max_length=255)
    pass_mark = models.PositiveSmallIntegerField(default=70, validators=[MaxValueValidator(100)],
                                                 help_text="Percent of the points needed to pass.")
    max_attempts = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["course", "created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(pass_mark__lte=100), name="learning_exam_pass_mark_percent"),
            models.CheckConstraint(condition=Q(max_attempts__gte=1), name="learning_exam_attempts_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class QuestionKind(models.TextChoices):
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    SHORT_ANSWER = "short_answer", "Short answer (graded by an instructor)"


class Question(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=QuestionKind.choices)
    prompt = models.TextField()
    choices = models.JSONField(default=list, blank=True, help_text="Multiple choice: the options, in order.")
    correct_choice = models.PositiveSmallIntegerField(null=True, blank=True)
    correct_choices = models.JSONField(
        default=list, blank=True,
        help_text="Several right answers ('select all that apply'): every correct index, correct_choice the first; "
                  "empty when correct_choice is the only one.")
    points = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["exam", "position"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "position"], name="learning_question_position"),
            models.CheckConstraint(
                condition=Q(kind="short_answer", correct_choice__isnull=True)
                | Q(kind="multiple_choice", correct_choice__isnull=False),
                name="learning_question_choice_matches_kind"),
        ]

    def __str__(self) -> str:
        return self.prompt[:60]

    @property
    def correct_indexes(self) -> list[int]:
        """Every correct choice's index (multiple choice), in order."""
        if self.kind != QuestionKind.MULTIPLE_CHOICE or self.correct_choice is None:
            return []
        return sorted({self.correct_choice, *self.correct_choices})

    @property
    def select_all(self) -> bool:
        """Whether the learner picks every right answer (several are correct) rather than the one."""
        return len(self.correct_indexes) > 1


# ---------------------------------------------------------------------------
# Staff roles, memberships and course staff.
# ---------------------------------------------------------------------------

class StaffRole(models.TextChoices):
    INSTRUCTOR = "instructor", "Instructor"
    CONTENT_ADMIN = "content-admin", "Content admin"
    DEPARTMENT_ADMIN = "department-admin", "Department admin"
    BILLING_ADMIN = "billing-admin", "Billing admin"


class Membership(models.Model):
    """A staff role held in a department (and, by inheritance, in every department below it)."""

    user = models.ForeignKey(LmsUser, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(LmsUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "department", "role"], name="learning_membership_once"),
            models.CheckConstraint(condition=Q(role__in=StaffRole.values), name="learning_membership_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "role"], name="learning_membership_user_role")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} in {self.department}"


class CourseStaffRole(models.TextChoices):
    INSTRUCTOR = "instructor", "Instructor"
    CONTENT_CREATOR = "content-creator", "Content creator"


COURSE_STAFF_ROLES = CourseStaffRole.values  # the API's and the port's choice set (one OpenAPI enum)
STAFF_ROLES = StaffRole.values


class CourseStaff(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(LmsUser, on_delete=models.CASCADE, related_name="course_roles")
    role = models.CharField(max_length=20, choices=CourseStaffRole.choices)
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "course staff"
        constraints = [models.UniqueConstraint(fields=["course", "user", "role"], name="learning_coursestaff_once")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.course}"


# ---------------------------------------------------------------------------
# Enrollments, the order lines that granted them, progress and certificates.
# ---------------------------------------------------------------------------

class EnrollmentSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    COMMERCE = "commerce", "Commerce"
    IMPORT = "import", "Import"


class EnrollmentStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    REJECTED = "rejected", "Rejected"


LIVE_ENROLLMENT_STATUSES = ["pending", "active", "completed"]


class Enrollment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(LmsUser, on_delete=models.PROTECT, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, null=True, blank=True, related_name="enrollments")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="enrollments")
    course_class = models.ForeignKey(CourseClass, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="enrollments")
    instructor = models.ForeignKey(LmsUser, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="enrollments_taught",
                                   help_text="The instructor assigned to this learner.")
    source = models.CharField(max_length=16, choices=EnrollmentSource.choices)
    status = models.CharField(max_length=16, choices=EnrollmentStatus.choices)
    commerce_order_id = models.CharField(max_length=64, blank=True)
    commerce_order_item_id = models.CharField(max_length=64, blank=True)
    commerce_transaction_id = models.CharField(max_length=128, blank=True)
    amount = models.DecimalField(max_digits=19, decimal_places=4, null=True, blank=True)
    processor_fee = models.DecimalField(
        max_digits=19, decimal_places=4, null=True, blank=True,
        help_text="The grant's metadata.processorFee, kept so a sale approved later is split on the same net.")
    currency = models.CharField(max_length=3, blank=True)
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="Approved or rejected at.")
    decided_by = models.CharField(max_length=64, blank=True, help_text="An LMS user id or auto-approval.")
    completed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    expiry_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(course__isnull=False) ^ Q(program__isnull=False),
                                   name="learning_enrollment_course_xor_program"),
            models.CheckConstraint(condition=Q(course_class__isnull=True) | Q(course__isnull=False),
                                   name="learning_enrollment_class_has_course"),
            models.CheckConstraint(condition=Q(status__in=EnrollmentStatus.values),
                                   name="learning_enrollment_status_valid"),
            models.CheckConstraint(condition=Q(source__in=EnrollmentSource.values),
                                   name="learning_enrollment_source_valid"),
            models.CheckConstraint(condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("granted_at")),
                                   name="learning_enrollment_expires_after_grant"),
            # One live enrollment per person and course (or program): a second purchase is already_enrolled.
            models.UniqueConstraint(fields=["user", "course"], condition=Q(status__in=LIVE_ENROLLMENT_STATUSES,
                                                                           course__isnull=False),
                                    name="learning_enrollment_one_live_per_course"),
            models.UniqueConstraint(fields=["user", "program"], condition=Q(status__in=LIVE_ENROLLMENT_STATUSES,
                                                                            program__isnull=False),
                                    name="learning_enrollment_one_live_per_program"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="learning_enrollment_expiry"),
            models.Index(fields=["commerce_order_id"], name="learning_enrollment_order"),
            models.Index(fields=["user", "status"], name="learning_enrollment_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course or self.program}"

    @property
    def offering(self):
        return self.course or self.program


class EntitlementLine(models.Model):
    """One Commerce order line as the LMS has seen it: the permanent key of the entitlement receiver.

    ``line_key`` is the order line (``orderItemId``, else ``orderId`` + type + ``externalId``); it is
    unique for good, so a grant is processed once whatever the inbox remembers, and a revoke that
    arrives first leaves a ``revoked`` row that turns the late grant away.
    """

    class State(models.TextChoices):
        GRANTED = "granted", "Granted"
        REVOKED = "revoked", "Revoked"

    line_key = models.CharField(max_length=300, unique=True)
    order_id = models.CharField(max_length=64)
    order_item_id = models.CharField(max_length=64, blank=True)
    product_type = models.CharField(max_length=16)
    external_id = models.CharField(max_length=255)
    commerce_user_id = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="entitlement_lines")
    created_enrollment = models.BooleanField(default=False)
    result_status = models.CharField(max_length=32, blank=True, help_text="What the grant answered.")
    result_error = models.CharField(max_length=64, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(state__in=["granted", "revoked"]),
                                              name="learning_entitlementline_state_valid")]
        indexes = [models.Index(fields=["order_id"], name="learning_entline_order")]

    def __str__(self) -> str:
        return self.line_key


class LessonCompletion(models.Model):
    """A lesson marked done by a learner (progress belongs to the person, whichever enrollment gave access)."""

    user = models.ForeignKey(LmsUser, on_delete=models.CASCADE, related_name="lesson_completions")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="completions")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "lesson"], name="learning_lessoncompletion_once")]
        indexes = [models.Index(fields=["user", "course"], name="learning_lessoncompletion_user")]

    def __str__(self) -> str:
        return f"{self.user_id} did {self.lesson_id}"


class AttemptStatus(models.TextChoices):
    AWAITING_GRADING = "awaiting_grading", "Awaiting grading"
    GRADED = "graded", "Graded"


class ExamAttempt(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(LmsUser, on_delete=models.CASCADE, related_name="exam_attempts")
    number = models.PositiveSmallIntegerField()
    answers = models.JSONField(default=dict, help_text="{questionId: choice index or text}")
    points = models.JSONField(default=dict, help_text="{questionId: points awarded}")
    score_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(null=True)
    status = models.CharField(max_length=20, choices=AttemptStatus.choices)
    submitted_at = models.DateTimeField()
    graded_at = models.DateTimeField(null=True, blank=True)
    graded_by = models.ForeignKey(LmsUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exam", "user", "number"], name="learning_examattempt_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="learning_examattempt_number_positive"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.exam_id} by {self.user_id}"


class CourseCompletion(models.Model):
    user = models.ForeignKey(LmsUser, on_delete=models.CASCADE, related_name="course_completions")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="completions")
    completed_at = models.DateTimeField()
    grade = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="learning_coursecompletion_once")]

    def __str__(self) -> str:
        return f"{self.user_id} completed {self.course_id}"


class Certificate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(LmsUser, on_delete=models.CASCADE, related_name="certificates")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="certificates")
    title = models.CharField(max_length=255, help_text="The course or program title when issued.")
    holder_email = models.EmailField(max_length=254)
    grade = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment"], name="learning_certificate_one_per_enrollment"),
            models.CheckConstraint(condition=Q(course__isnull=False) ^ Q(program__isnull=False),
                                   name="learning_certificate_course_xor_program"),
        ]

    def __str__(self) -> str:
        return self.code


class InteractionKind(models.TextChoices):
    DISCUSSION_REPLY = "discussion_reply", "Discussion reply"
    ASSIGNMENT_GRADED = "assignment_graded", "Assignment graded"
    LIVE_SESSION_MINUTES = "live_session_minutes", "Live session minutes"
    MANUAL_VERIFICATION = "manual_verification", "Manual verification by an admin"


class Interaction(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="interactions")
    instructor = models.ForeignKey(LmsUser, on_delete=models.PROTECT, related_name="interactions_given")
    kind = models.CharField(max_length=24, choices=InteractionKind.choices)
    quantity = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(LmsUser, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="learning_interaction_quantity_positive"),
            models.CheckConstraint(condition=Q(kind__in=InteractionKind.values), name="learning_interaction_kind"),
        ]
        indexes = [models.Index(fields=["enrollment", "kind"], name="learning_interaction_enr")]

    def __str__(self) -> str:
        return f"{self.kind} x{self.quantity} on {self.enrollment_id}"


class ErasedEmail(models.Model):
    """The SHA-256 of an erased person's email (lower-cased): imports refuse to bring them back."""

    email_sha256 = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"erased {self.email_sha256[:12]}…"
