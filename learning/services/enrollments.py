"""Enrollments: opened (manual, commerce or import), approved or rejected, revoked, expired; the messages they send.

Every status change that Commerce or the revenue side cares about writes its message to the
outbox in the same transaction: ``enrollment.status`` (002 connector 2) to Commerce on approval
and rejection of a purchased enrollment, ``enrollment.lifecycle`` to revenue on activation,
completion, revocation and expiry.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Count, Exists, F, FilteredRelation, OuterRef, Q, TextField, Value
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from integration.db import insert_ignore, unique_constraint
from integration.mail import send_templated_email
from learning import remote
from learning.errors import ClassFull, EnrollmentNotPending, InvalidStatusChange, NotPublished
from learning.models import (
    LIVE_ENROLLMENT_STATUSES,
    Course,
    CourseClass,
    CourseStaff,
    CourseStaffRole,
    Enrollment,
    EnrollmentSource,
    EnrollmentStatus,
    LmsUser,
    LmsUserType,
    Membership,
    Program,
    PublishStatus,
)
from learning.permissions import Right, ancestor_paths, roles_with
from learning.web import lms_url

REMINDER_BEFORE = timedelta(days=7)


@dataclass(frozen=True)
class Opened:
    enrollment: Enrollment
    outcome: str  # granted | pending_approval | already_enrolled


def _offering_info(enrollment: Enrollment) -> tuple[str, str]:
    if enrollment.course_class_id:
        return "class", str(enrollment.course_class_id)
    if enrollment.program_id:
        return "program", str(enrollment.program_id)
    return "course", str(enrollment.course_id)


def lifecycle_base(enrollment: Enrollment) -> dict:
    """The fields every ``enrollment.lifecycle`` payload carries."""
    product_type, external_id = _offering_info(enrollment)
    base = {"enrollmentId": str(enrollment.id), "lmsUserId": str(enrollment.user_id),
            "commerceUserId": enrollment.user.commerce_user_id, "productType": product_type,
            "externalId": external_id, "source": enrollment.source}
    if enrollment.course_id:
        base["courseId"] = str(enrollment.course_id)
    if enrollment.program_id:
        base["programId"] = str(enrollment.program_id)
    if enrollment.commerce_order_id:
        base["orderId"] = enrollment.commerce_order_id
    if enrollment.commerce_order_item_id:
        base["orderItemId"] = enrollment.commerce_order_item_id
    return base


def _instructor_commerce_id(enrollment: Enrollment) -> str | None:
    return enrollment.instructor.commerce_user_id if enrollment.instructor_id else None


def _send_activated(enrollment: Enrollment, *, now: datetime, extra: dict | None = None) -> None:
    remote.enrollment_lifecycle_send(event="enrollment.activated",
                                     payload=_activated_payload(enrollment, now=now, extra=extra))


def _activated_payload(enrollment: Enrollment, *, now: datetime, extra: dict | None = None) -> dict:
    payload = {**lifecycle_base(enrollment), "activatedAt": now}
    if enrollment.amount is not None:
        payload["amount"] = enrollment.amount
        payload["currency"] = enrollment.currency
    if enrollment.commerce_transaction_id:
        payload["transactionId"] = enrollment.commerce_transaction_id
    if instructor := _instructor_commerce_id(enrollment):
        payload["instructorCommerceUserId"] = instructor
    for key in ("grossAmount", "processorFee"):
        if extra and extra.get(key) is not None:
            payload[key] = Decimal(str(extra[key]))
    if "processorFee" not in payload and enrollment.processor_fee is not None:  # approved after the grant
        payload["processorFee"] = enrollment.processor_fee
    return payload


def _fee_of(extra: dict | None) -> Decimal | None:
    return Decimal(str(extra["processorFee"])) if extra and extra.get("processorFee") is not None else None


def _email(enrollment: Enrollment, template: str, **context) -> None:
    user = enrollment.user
    if not user.is_active or not user.email or user.email.endswith("@invalid"):
        return
    send_templated_email(to=user.email, template=template, context={
        "title": enrollment.offering.title, "course_url": lms_url(f"/lms/enrollments/{enrollment.id}/"),
        "expires_at": enrollment.expires_at.isoformat() if enrollment.expires_at else "", **context})


def _approvers(enrollments: list[Enrollment]) -> dict[tuple[str, uuid.UUID], list[str]]:
    """Who may approve each pending enrollment, by its offering ``(kind, id)``: the emails of the active people
    the approval queue and the approve API let act on it (``access_check`` with ``enrollment:department:manage``):
    a role holding that right (department admin) in the offering's department or one above it, and the global
    admins. No course staff role holds it.

    One statement however many offerings: the offerings' department paths, the memberships of those roles in a
    department that is one of their departments or above one (``path LIKE membership path || '%'``) and the
    global admins (``user_types`` read as text, then checked exactly here), as one ``UNION ALL``. Only the
    active with an address that is not an erased one (``lms_user_mailable``'s rule) are read.
    """
    course_ids = {e.course_id for e in enrollments if e.program_id is None}
    program_ids = {e.program_id for e in enrollments if e.program_id is not None}
    text, columns = TextField(), ("row_kind", "row_ident", "row_path", "row_types")
    parts, covers = [], Q()
    for kind, model, ids in (("course", Course, course_ids), ("program", Program, program_ids)):
        if ids:
            parts.append(model.objects.filter(pk__in=ids).annotate(
                row_kind=Value(kind, output_field=text), row_ident=Cast("pk", output_field=CharField()),
                row_path=F("department__path"), row_types=Value("", output_field=text)).values_list(*columns))
            covers |= Q(Exists(model.objects.filter(pk__in=ids,
                                                    department__path__startswith=OuterRef("department__path"))))
    mailable = Q(is_active=True) & ~Q(email="") & ~Q(email__endswith="@invalid")
    parts.append(Membership.objects.filter(covers, role__in=roles_with(Right.ENROLLMENT_MANAGE),
                                           user__in=LmsUser.objects.filter(mailable))
                 .annotate(row_kind=Value("member", output_field=text), row_ident=F("user__email"),
                           row_path=F("department__path"), row_types=Value("", output_field=text)).values_list(*columns))
    admins = LmsUser.objects.annotate(types_text=Cast("user_types", output_field=text)).filter(mailable)
    if connection.vendor == "postgresql":  # the partial index's own predicate (migration 0006): no scan of every user
        admins = admins.filter(user_types__contains=[LmsUserType.GLOBAL_ADMIN.value])
    else:
        admins = admins.filter(types_text__contains=json.dumps(LmsUserType.GLOBAL_ADMIN.value))
    parts.append(admins
                 .annotate(row_kind=Value("admin", output_field=text), row_ident=F("email"),
                           row_path=Value("", output_field=text), row_types=F("types_text")).values_list(*columns))
    first, *others = parts
    paths, holders, everywhere = {}, [], set()
    for kind, ident, path, types in first.union(*others, all=True):
        if kind in ("course", "program"):
            paths[(kind, uuid.UUID(str(ident)))] = path
        elif kind == "member":
            holders.append((ident, path))
        elif LmsUserType.GLOBAL_ADMIN in (json.loads(types) or ()):
            everywhere.add(ident)
    found = {}
    for key, path in paths.items():
        above = set(ancestor_paths(path))
        found[key] = sorted(everywhere | {email for email, held_in in holders if held_in in above})
    return found


def _approval_emails(enrollments: list[Enrollment]) -> None:
    """Tells the people who may approve each new pending enrollment that it waits (after the commit).

    Called where the enrollment is inserted, so once per enrollment: a repeated grant, an enrollment
    already live or a late delivery inserts none and sends nothing.
    """
    if not enrollments:
        return
    approvers = _approvers(enrollments)
    for enrollment in enrollments:
        key = ("program", enrollment.program_id) if enrollment.program_id else ("course", enrollment.course_id)
        learner = enrollment.user.email
        asked = enrollment.granted_at
        if isinstance(asked, str):  # as the wire gave it
            asked = parse_datetime(asked) or enrollment.created_at
        context = {"learner": learner, "title": enrollment.offering.title, "kind": key[0],
                   "asked_at": asked.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                   "purchased": bool(enrollment.commerce_order_id), "order_id": enrollment.commerce_order_id,
                   "approval_url": lms_url(f"/lms/admin/approvals/?{urlencode({'q': learner})}")}
        for email in approvers.get(key, ()):
            send_templated_email(to=email, template="lms_enrollment_approval_needed", context=context)


def _default_instructor(course: Course | None, course_class: CourseClass | None) -> LmsUser | None:
    if course_class is not None and course_class.instructor_id:
        return course_class.instructor
    if course is None:
        return None
    staff = (CourseStaff.objects.filter(course=course, role="instructor").select_related("user")
             .order_by("assigned_at").first())
    return staff.user if staff else None


def live_enrollment(*, user: LmsUser, course: Course | None = None, program: Program | None = None):
    return Enrollment.objects.filter(user=user, course=course, program=program,
                                     status__in=LIVE_ENROLLMENT_STATUSES).first()


# The one-live-enrollment partial unique indexes, the arbiters of an enrollment's insert.
_ONE_LIVE = {False: unique_constraint(Enrollment, "learning_enrollment_one_live_per_course"),
             True: unique_constraint(Enrollment, "learning_enrollment_one_live_per_program")}


def _live_insert(enrollments: list[Enrollment]) -> set:
    """Inserts new live enrollments, but each whose person already has a live one of its course (or program),
    committed or being written by a concurrent grant (on PostgreSQL this waits for it): ``INSERT … ON CONFLICT
    (user, course) WHERE <the index's condition> DO NOTHING``, one statement per kind, no savepoint. Answers
    the ids written; those instances are then saved ones."""
    fields = Enrollment._meta.concrete_fields
    written = set()
    for is_program, constraint in _ONE_LIVE.items():
        rows = [{field.name: getattr(enrollment, field.attname) for field in fields}
                for enrollment in enrollments if (enrollment.program_id is not None) == is_program]
        if rows:
            written.update(Enrollment._meta.pk.to_python(pk) for (pk,) in insert_ignore(
                Enrollment, rows, conflict=constraint))
    for enrollment in enrollments:
        if enrollment.pk in written:
            enrollment._state.adding, enrollment._state.db = False, connection.alias
    return written


def enrollment_open(*, user: LmsUser, course: Course | None = None, program: Program | None = None,
                    course_class: CourseClass | None = None, source: str, granted_at: datetime,
                    expires_at: datetime | None = None, order_id: str = "", order_item_id: str = "",
                    amount: Decimal | None = None, currency: str = "", transaction_id: str = "",
                    extra: dict | None = None, now: datetime) -> Opened:
    """Opens an enrollment, or finds the live one the person already has (``already_enrolled``).

    Runs inside the caller's transaction. Raises :class:`NotPublished` for a draft or archived
    offering and :class:`ClassFull` when the class has no seat left (counted under a row lock).
    """
    if course_class is not None:
        course = course_class.course
    offering = course or program
    if offering.status != PublishStatus.PUBLISHED or (
            course_class is not None and course_class.status != PublishStatus.PUBLISHED):
        raise NotPublished(details={"status": offering.status})
    existing = live_enrollment(user=user, course=course if program is None else None, program=program)
    if existing is not None:
        return Opened(existing, "already_enrolled")
    if course_class is not None:
        CourseClass.objects.select_for_update().filter(pk=course_class.pk).first()
        taken = Enrollment.objects.filter(course_class=course_class, status__in=LIVE_ENROLLMENT_STATUSES).count()
        if taken >= course_class.capacity:
            raise ClassFull(details={"classId": str(course_class.pk), "capacity": course_class.capacity})
    pending = offering.requires_approval
    enrollment = Enrollment(
        user=user, course=course if program is None else None, program=program, course_class=course_class,
        instructor=_default_instructor(course, course_class), source=source,
        status=EnrollmentStatus.PENDING if pending else EnrollmentStatus.ACTIVE,
        commerce_order_id=order_id, commerce_order_item_id=order_item_id, commerce_transaction_id=transaction_id,
        amount=amount, processor_fee=_fee_of(extra), currency=currency, granted_at=granted_at,
        expires_at=expires_at if expires_at and expires_at > granted_at else None,
        created_at=now, updated_at=now)
    for _ in range(3):
        if _live_insert([enrollment]):
            break
        # A concurrent grant for the same person and course won; its enrollment is committed now, unless it
        # was closed since (then the insert is tried again).
        existing = live_enrollment(user=user, course=enrollment.course, program=program)
        if existing is not None:
            return Opened(existing, "already_enrolled")
    else:
        raise IntegrityError("the live enrollment kept changing under the insert")
    if pending:
        _email(enrollment, "lms_enrollment_pending")
        _approval_emails([enrollment])
        return Opened(enrollment, "pending_approval")
    _send_activated(enrollment, now=now, extra=extra)
    _email(enrollment, "lms_enrollment_active")
    return Opened(enrollment, "granted")


@dataclass(frozen=True)
class OpenRequest:
    """One enrollment to open, as :func:`enrollment_open`'s arguments (for :func:`enrollments_open_many`)."""

    source: str
    granted_at: datetime
    course: Course | None = None
    program: Program | None = None
    course_class: CourseClass | None = None
    expires_at: datetime | None = None
    order_id: str = ""
    order_item_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    transaction_id: str = ""
    extra: dict | None = None


def offerings_to_open(*, course_ids: set, program_ids: set, class_ids: set) -> dict[tuple[str, str], object]:
    """The offerings :func:`enrollments_open_many` is to open, keyed by ``(type, id)``: one query per kind.

    Only the columns opening needs are read (the instances defer the rest), and each course comes
    with its default instructor (the earliest assigned, as :func:`_default_instructor`) by a join
    in the same query: a row per instructor, the earliest kept.
    """
    found: dict[tuple[str, str], object] = {}
    if course_ids:
        for values, instructor in _earliest_instructor(_courses_with_instructors(course_ids), _OPENING_FIELDS):
            course = _course_from(values, instructor)
            found[("course", str(course.pk))] = course
    if program_ids:
        for program in Program.objects.filter(pk__in=program_ids).only(*_OPENING_FIELDS):
            found[("program", str(program.pk))] = program
    if class_ids:
        fields = ("id", "status", "capacity", "instructor_id", "instructor__commerce_user_id",
                  *(f"course__{f}" for f in _OPENING_FIELDS))
        rows = (CourseClass.objects.filter(pk__in=class_ids)
                .annotate(course_instructor=_instructors_of("course__staff"))
                .values_list(*fields, *(f"course_instructor__{f}" for f in _STAFF_FIELDS)))
        for values, instructor in _earliest_instructor(rows, fields):
            course_class = _instance(CourseClass, {name: values[name] for name in fields[:4]})
            course_class.instructor_commerce_id = values["instructor__commerce_user_id"]
            course_class.course = _course_from({f: values[f"course__{f}"] for f in _OPENING_FIELDS}, instructor)
            course_class.default_instructor_id = course_class.course.default_instructor_id
            found[("class", str(course_class.pk))] = course_class
    return found


_OPENING_FIELDS = ("id", "title", "status", "requires_approval")
_STAFF_FIELDS = ("id", "assigned_at", "user_id", "user__commerce_user_id")


def _courses_with_instructors(course_ids: set) -> list[tuple]:
    """The courses' ``_OPENING_FIELDS`` and, a row per instructor, ``_STAFF_FIELDS`` (``None`` for a course
    with none): what ``Course.objects.filter(pk__in=…).annotate(instructor=_instructors_of("staff"))
    .values_list(…)`` answers, the values through the fields' converters as the ORM's are.

    Written out because every grant asks it: the FilteredRelation queryset cost ~0.6 ms of CPU to build
    and compile for one course, the statement a fraction of it. Names from ``_meta``, values parameters;
    the same SQL on PostgreSQL and SQLite.
    """
    quote = connection.ops.quote_name
    course, staff, user = Course._meta, CourseStaff._meta, LmsUser._meta
    columns = [("c", course.get_field(name)) for name in _OPENING_FIELDS] + [
        ("s", staff.get_field("id")), ("s", staff.get_field("assigned_at")), ("s", staff.get_field("user")),
        ("u", user.get_field("commerce_user_id"))]
    ids = [course.pk.get_db_prep_value(course_id, connection) for course_id in course_ids]
    sql = (f"SELECT {', '.join(f'{alias}.{quote(field.column)}' for alias, field in columns)} "  # noqa: S608 (names from the models; values are parameters)
           f"FROM {quote(course.db_table)} c LEFT JOIN {quote(staff.db_table)} s "
           f"ON s.{quote(staff.get_field('course').column)} = c.{quote(course.pk.column)} "
           f"AND s.{quote(staff.get_field('role').column)} = %s "
           f"LEFT JOIN {quote(user.db_table)} u ON u.{quote(user.pk.column)} = s.{quote(staff.get_field('user').column)} "
           f"WHERE c.{quote(course.pk.column)} IN ({', '.join(['%s'] * len(ids))})")
    converters = []
    for index, (alias, field) in enumerate(columns):
        expression = field.get_col(alias)
        functions = [*connection.ops.get_db_converters(expression), *field.get_db_converters(connection)]
        if functions:
            converters.append((index, expression, functions))
    with connection.cursor() as cursor:
        cursor.execute(sql, [CourseStaffRole.INSTRUCTOR.value, *ids])
        rows = cursor.fetchall()
    if not converters:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, expression, functions in converters:
            for function in functions:
                values[index] = function(values[index], expression, connection)
        converted.append(tuple(values))
    return converted


def _instructors_of(staff: str) -> FilteredRelation:
    return FilteredRelation(staff, condition=Q(**{f"{staff}__role": CourseStaffRole.INSTRUCTOR}))


def _earliest_instructor(rows, fields: tuple) -> list[tuple[dict, tuple | None]]:
    """Per offering, its ``fields`` and its earliest-assigned instructor ``(id, commerce id)``, from a row per
    instructor (one row with none when it has none)."""
    offerings: dict = {}
    earliest: dict = {}
    width = len(fields)
    for row in rows:
        key = row[0]
        offerings.setdefault(key, dict(zip(fields, row[:width], strict=True)))
        staff_id, assigned_at, user_id, commerce_user_id = row[width:]
        if staff_id is not None and (key not in earliest or (assigned_at, staff_id) < earliest[key][0]):
            earliest[key] = ((assigned_at, staff_id), (user_id, commerce_user_id))
    return [(values, earliest[key][1] if key in earliest else None) for key, values in offerings.items()]


def _instance(model, values: dict):
    """A model instance of these column values only (the others deferred), as a query with ``only()`` makes."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _course_from(values: dict, instructor: tuple | None) -> Course:
    course = _instance(Course, {name: values[name] for name in _OPENING_FIELDS})
    course.default_instructor_id, course.default_instructor_commerce_id = instructor or (None, None)
    return course


def _instructor(course: Course | None, course_class: CourseClass | None) -> LmsUser | None:
    """The instructor to assign, from what :func:`offerings_to_open` read (else looked up, one query)."""
    if not hasattr(course_class if course_class is not None else course, "default_instructor_id"):
        return _default_instructor(course, course_class)
    if course_class is not None and course_class.instructor_id:
        return _user_ref(course_class.instructor_id, course_class.instructor_commerce_id)
    if course is not None and course.default_instructor_id:
        return _user_ref(course.default_instructor_id, course.default_instructor_commerce_id)
    return None


def _user_ref(user_id, commerce_user_id: str | None) -> LmsUser:
    """An LMS user known by its id and Commerce id only (what an enrollment's messages name)."""
    return _instance(LmsUser, {"id": user_id, "commerce_user_id": commerce_user_id})


def _live_enrollments(*, user: LmsUser, course_ids: set, program_ids: set) -> dict[tuple[str, object], Enrollment]:
    live: dict[tuple[str, object], Enrollment] = {}
    for enrollment in (Enrollment.objects.filter(Q(course_id__in=course_ids, program__isnull=True)
                                                 | Q(program_id__in=program_ids),
                                                 user=user, status__in=LIVE_ENROLLMENT_STATUSES)
                       .only("id", "course_id", "program_id")):
        key = ("program", enrollment.program_id) if enrollment.program_id else ("course", enrollment.course_id)
        live[key] = enrollment
    return live


def enrollments_open_many(*, user: LmsUser, requests: list[OpenRequest], now: datetime,
                          user_is_new: bool = False) -> list[Opened | Exception]:
    """:func:`enrollment_open` for several offerings of one person, in a bounded number of queries.

    Answers per request, in order, an :class:`Opened` or the error that request met
    (:class:`NotPublished`, :class:`ClassFull`); the others still open. Runs inside the caller's
    transaction; see :class:`EnrollmentBatch` (this is its plan of every request, then its open).
    """
    batch = EnrollmentBatch(user=user, requests=requests, now=now, user_is_new=user_is_new)
    batch.plan(range(len(requests)))
    return batch.open()


class EnrollmentBatch:
    """:func:`enrollments_open_many` in steps, for a caller that writes rows naming the enrollments first.

    Made, it reads what deciding takes, once: the live enrollments and the classes (row-locked,
    then their seats counted); the default instructors come with the offerings
    (:func:`offerings_to_open`). :meth:`plan` then decides, without a query, what a set of the
    requests would answer: each new enrollment is made (not saved) with its id, the same object
    however often it is planned. :meth:`open` inserts the last plan's new enrollments in one
    statement (two when courses and programs mix) and writes their ``enrollment.activated`` messages
    in one more. Should a concurrent grant have opened one of the same enrollments meanwhile, the
    insert skips that one (:func:`_live_insert`, no savepoint) and its requests take
    :func:`enrollment_open`'s one-by-one path (which answers ``already_enrolled``), so
    :meth:`open`'s answers may differ from the plan's.

    ``user_is_new``: the user was inserted in this transaction, so it has no enrollments and nobody
    else can open one for it before this commits: the live enrollments are not read and the insert
    is a plain one.
    """

    def __init__(self, *, user: LmsUser, requests: list[OpenRequest], now: datetime, user_is_new: bool = False):
        self.user, self.requests, self.now, self.user_is_new = user, requests, now, user_is_new
        self._wanted: dict[int, tuple[Course | None, Program | None, CourseClass | None]] = {}
        self._refused: dict[int, Exception] = {}
        for index, request in enumerate(requests):
            course_class = request.course_class
            course = course_class.course if course_class is not None else request.course
            program = request.program
            offering = course or program
            if offering.status != PublishStatus.PUBLISHED or (
                    course_class is not None and course_class.status != PublishStatus.PUBLISHED):
                self._refused[index] = NotPublished(details={"status": offering.status})
                continue
            self._wanted[index] = (course if program is None else None, program, course_class)
        wanted = self._wanted.values()
        self._live: dict[tuple[str, object], Enrollment] = {}
        if wanted and not user_is_new:
            self._live = _live_enrollments(
                user=user, course_ids={course.pk for course, _, _ in wanted if course is not None},
                program_ids={program.pk for _, program, _ in wanted if program is not None})
        class_ids = sorted({course_class.pk for *_, course_class in wanted if course_class is not None}, key=str)
        self._seats_left: dict = {}
        if class_ids:
            capacity = dict(CourseClass.objects.select_for_update().filter(pk__in=class_ids).order_by("pk")
                            .values_list("pk", "capacity"))
            taken = class_seats_taken(class_ids)
            self._seats_left = {pk: capacity[pk] - taken.get(pk, 0) for pk in capacity}
        self._made: dict[int, Enrollment] = {}
        self._answers: list[Opened | Exception | None] = []
        self._created: list[int] = []
        self._in_batch: list[int] = []

    def plan(self, indexes) -> list[Opened | Exception | None]:
        """What the requests at ``indexes`` would answer, opened together (``None`` for the others)."""
        answers: list[Opened | Exception | None] = [None] * len(self.requests)
        live, seats_left = dict(self._live), dict(self._seats_left)
        created, in_batch, batch_keys = [], [], set()
        for index in sorted(indexes):
            if index in self._refused:
                answers[index] = self._refused[index]
                continue
            course, program, course_class = self._wanted[index]
            key = ("program", program.pk) if program is not None else ("course", course.pk)
            if key in live:
                answers[index] = Opened(live[key], "already_enrolled")
                if key in batch_keys:
                    in_batch.append(index)
                continue
            if course_class is not None:
                if seats_left.get(course_class.pk, 0) <= 0:
                    answers[index] = ClassFull(details={"classId": str(course_class.pk),
                                                        "capacity": course_class.capacity})
                    continue
                seats_left[course_class.pk] -= 1
            if index not in self._made:
                self._made[index] = self._enrollment(self.requests[index], course, program, course_class)
            enrollment = self._made[index]
            answers[index] = Opened(enrollment, "pending_approval" if enrollment.status == EnrollmentStatus.PENDING
                                    else "granted")
            live[key] = enrollment  # the same offering twice in one batch: the second is already_enrolled
            batch_keys.add(key)
            created.append(index)
        self._answers, self._created, self._in_batch = answers, created, in_batch
        return list(answers)

    def _enrollment(self, request: OpenRequest, course: Course | None, program: Program | None,
                    course_class: CourseClass | None) -> Enrollment:
        return Enrollment(
            user=self.user, course=course, program=program, course_class=course_class,
            instructor=_instructor(course, course_class), source=request.source,
            status=EnrollmentStatus.PENDING if (course or program).requires_approval else EnrollmentStatus.ACTIVE,
            commerce_order_id=request.order_id, commerce_order_item_id=request.order_item_id,
            commerce_transaction_id=request.transaction_id, amount=request.amount,
            processor_fee=_fee_of(request.extra), currency=request.currency, granted_at=request.granted_at,
            expires_at=request.expires_at if request.expires_at and request.expires_at > request.granted_at
            else None,
            created_at=self.now, updated_at=self.now)

    def open(self) -> list[Opened | Exception | None]:
        """Opens what the last :meth:`plan` made; answers as it did, but for a concurrent grant's (see above)."""
        answers = list(self._answers)
        if not self._created:
            return answers
        enrollments = [self._made[index] for index in self._created]
        if self.user_is_new:
            Enrollment.objects.bulk_create(enrollments)
            written = {enrollment.pk for enrollment in enrollments}
        else:
            written = _live_insert(enrollments)
            # A concurrent grant opened some of them: those requests (and the batch's later requests for the
            # same offerings, answered by the enrollment not written) one by one.
            for index in sorted(self._created + self._in_batch):
                if answers[index].enrollment.pk not in written:
                    answers[index] = _open_one(user=self.user, request=self.requests[index], now=self.now)
        activated, pending = [], []
        for index, enrollment in zip(self._created, enrollments, strict=True):
            if enrollment.pk not in written:
                continue
            if enrollment.status == EnrollmentStatus.PENDING:
                _email(enrollment, "lms_enrollment_pending")
                pending.append(enrollment)
                continue
            activated.append(_activated_payload(enrollment, now=self.now, extra=self.requests[index].extra))
            _email(enrollment, "lms_enrollment_active")
        if activated:
            remote.enrollment_lifecycle_send_many(event="enrollment.activated", payloads=activated)
        _approval_emails(pending)  # no query when none waits for approval
        return answers


def _open_one(*, user: LmsUser, request: OpenRequest, now: datetime) -> Opened | Exception:
    # No savepoint: enrollment_open raises these before it writes anything.
    try:
        return enrollment_open(
            user=user, course=request.course, program=request.program, course_class=request.course_class,
            source=request.source, granted_at=request.granted_at, expires_at=request.expires_at,
            order_id=request.order_id, order_item_id=request.order_item_id, amount=request.amount,
            currency=request.currency, transaction_id=request.transaction_id, extra=request.extra, now=now)
    except (ClassFull, NotPublished) as error:
        return error


@transaction.atomic
def enrollment_create_manual(*, user: LmsUser, course: Course | None = None, program: Program | None = None,
                             course_class: CourseClass | None = None, expires_at: datetime | None = None,
                             source: str = EnrollmentSource.MANUAL, now: datetime) -> Opened:
    return enrollment_open(user=user, course=course, program=program, course_class=course_class, source=source,
                           granted_at=now, expires_at=expires_at, now=now)


def _lock(enrollment: Enrollment) -> Enrollment:
    return (Enrollment.objects.select_for_update(of=("self",))
            .select_related("user", "course", "program", "instructor").get(pk=enrollment.pk))


@transaction.atomic
def enrollment_approve(*, enrollment: Enrollment, actor: LmsUser | None, now: datetime) -> Enrollment:
    enrollment = _lock(enrollment)
    if enrollment.status == EnrollmentStatus.ACTIVE and enrollment.decided_at:
        return enrollment
    if enrollment.status != EnrollmentStatus.PENDING:
        raise EnrollmentNotPending(details={"status": enrollment.status})
    enrollment.status = EnrollmentStatus.ACTIVE
    enrollment.decided_at = now
    enrollment.decided_by = str(actor.pk) if actor else "auto-approval"
    enrollment.updated_at = now
    enrollment.save(update_fields=["status", "decided_at", "decided_by", "updated_at"])
    if enrollment.commerce_order_id:
        remote.enrollment_status_send(event="enrollment.approved", order_id=enrollment.commerce_order_id, payload={
            "enrollmentId": str(enrollment.id), "orderId": enrollment.commerce_order_id,
            "orderItemId": enrollment.commerce_order_item_id or f"{enrollment.commerce_order_id}:"
                                                                f"{_offering_info(enrollment)[1]}",
            "status": "approved", "approvedAt": now, "approvedBy": enrollment.decided_by})
    _send_activated(enrollment, now=now)
    _email(enrollment, "lms_enrollment_active")
    return enrollment


@transaction.atomic
def enrollment_reject(*, enrollment: Enrollment, actor: LmsUser | None, reason: str = "",
                      now: datetime) -> Enrollment:
    enrollment = _lock(enrollment)
    if enrollment.status == EnrollmentStatus.REJECTED:
        return enrollment
    if enrollment.status != EnrollmentStatus.PENDING:
        raise EnrollmentNotPending(details={"status": enrollment.status})
    enrollment.status = EnrollmentStatus.REJECTED
    enrollment.decided_at = now
    enrollment.decided_by = str(actor.pk) if actor else "system"
    enrollment.status_reason = reason[:500]
    enrollment.updated_at = now
    enrollment.save(update_fields=["status", "decided_at", "decided_by", "status_reason", "updated_at"])
    if enrollment.commerce_order_id:
        remote.enrollment_status_send(event="enrollment.rejected", order_id=enrollment.commerce_order_id, payload={
            "enrollmentId": str(enrollment.id), "orderId": enrollment.commerce_order_id,
            "orderItemId": enrollment.commerce_order_item_id or f"{enrollment.commerce_order_id}:"
                                                                f"{_offering_info(enrollment)[1]}",
            "status": "rejected", "rejectedAt": now, "reason": reason[:1000]})
    remote.enrollment_lifecycle_send(event="enrollment.revoked", payload={
        **lifecycle_base(enrollment), "reason": "rejected", "revokedAt": now})
    _email(enrollment, "lms_enrollment_rejected", reason=reason)
    return enrollment


def enrollment_revoke_locked(*, enrollment: Enrollment, reason: str, now: datetime,
                             refund_amount: Decimal | None = None, currency: str = "") -> bool:
    """Revokes a live enrollment (inside the caller's transaction, row locked); ``False`` if it was not live."""
    if enrollment.status not in LIVE_ENROLLMENT_STATUSES:
        return False
    enrollment.status = EnrollmentStatus.REVOKED
    enrollment.revoked_at = now
    enrollment.status_reason = reason
    enrollment.updated_at = now
    enrollment.save(update_fields=["status", "revoked_at", "status_reason", "updated_at"])
    payload = {**lifecycle_base(enrollment), "reason": reason, "revokedAt": now}
    if refund_amount is not None:
        payload["refundAmount"] = refund_amount
        payload["currency"] = currency or enrollment.currency
    remote.enrollment_lifecycle_send(event="enrollment.revoked", payload=payload)
    _email(enrollment, "lms_enrollment_revoked")
    return True


@transaction.atomic
def enrollment_revoke(*, enrollment: Enrollment, reason: str = "admin", now: datetime) -> Enrollment:
    enrollment = _lock(enrollment)
    if enrollment.status not in LIVE_ENROLLMENT_STATUSES and enrollment.status != EnrollmentStatus.REVOKED:
        raise InvalidStatusChange(details={"status": enrollment.status})
    enrollment_revoke_locked(enrollment=enrollment, reason=reason, now=now)
    return enrollment


@transaction.atomic
def enrollments_expire(*, now: datetime, batch_size: int = 500) -> int:
    """Active or pending enrollments past ``expiresAt`` become ``expired``; each tells revenue and the learner."""
    due = list(Enrollment.objects.select_for_update(of=("self",), skip_locked=True)
               .select_related("user", "course", "program")
               .filter(status__in=[EnrollmentStatus.ACTIVE, EnrollmentStatus.PENDING], expires_at__lte=now)
               .order_by("expires_at")[:batch_size])
    for enrollment in due:
        enrollment.status = EnrollmentStatus.EXPIRED
        enrollment.updated_at = now
        enrollment.save(update_fields=["status", "updated_at"])
        remote.enrollment_lifecycle_send(event="enrollment.expired",
                                         payload={**lifecycle_base(enrollment), "expiredAt": now})
        _email(enrollment, "lms_enrollment_expired")
    return len(due)


@transaction.atomic
def enrollment_expiry_reminders_send(*, now: datetime, batch_size: int = 500) -> int:
    """One email a week before an active enrollment expires (once per enrollment)."""
    due = list(Enrollment.objects.select_for_update(of=("self",), skip_locked=True)
               .select_related("user", "course", "program")
               .filter(status=EnrollmentStatus.ACTIVE, expiry_reminder_sent_at__isnull=True,
                       expires_at__gt=now, expires_at__lte=now + REMINDER_BEFORE)[:batch_size])
    for enrollment in due:
        enrollment.expiry_reminder_sent_at = now
        enrollment.save(update_fields=["expiry_reminder_sent_at"])
        _email(enrollment, "lms_enrollment_expiring")
    return len(due)


def class_seats_taken(course_class_ids: list) -> dict:
    rows = (Enrollment.objects.filter(course_class_id__in=course_class_ids, status__in=LIVE_ENROLLMENT_STATUSES)
            .values("course_class_id").annotate(n=Count("id")))
    return {row["course_class_id"]: row["n"] for row in rows}


def pending_filter() -> Q:
    return Q(status=EnrollmentStatus.PENDING)
