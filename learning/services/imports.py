"""Bulk enrollments from CSV (``email``, ``courseId`` or ``programId``, ``expiresAt?``), source ``import``.

Each row is done or refused on its own (a savepoint per row) and reported with the reason; a
dry run checks every row the same way and rolls everything back, so it changes nothing.
"""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from integration.errors import ApplicationError
from learning import remote
from learning.models import Course, EnrollmentSource, LmsUser, Program
from learning.services.enrollments import enrollment_open
from learning.services.users import email_was_erased, lms_user_sync_from_commerce

MAX_ROWS = 10_000


@dataclass(frozen=True)
class RowReport:
    row: int
    email: str
    target: str
    outcome: str  # enrolled | pending_approval | already_enrolled | refused
    reason: str = ""
    enrollment_id: str = ""


class _Refused(Exception):
    pass


class _DryRun(Exception):
    pass


def _parse_expiry(value: str, now: datetime) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)):
        parsed = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=now.tzinfo)
    if parsed is None:
        raise _Refused(f"expiresAt {value!r} is not an ISO 8601 date")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=now.tzinfo)
    if parsed <= now:
        raise _Refused("expiresAt is in the past")
    return parsed


def _person(email: str, now: datetime) -> LmsUser:
    if email_was_erased(email):
        raise _Refused("this person's data was erased at their request")
    user = LmsUser.objects.filter(email__iexact=email, is_active=True).order_by("created_at").first()
    if user is not None:
        return user
    found = remote.commerce_user_find(email=email)
    if found is None:
        raise _Refused("unknown email: nobody with this email is known to the store or the LMS")
    return lms_user_sync_from_commerce(commerce_user_id=found[0], email=found[1], now=now)


def _target(course_id: str, program_id: str):
    if bool(course_id) == bool(program_id):
        raise _Refused("give exactly one of courseId and programId")
    model, value = (Course, course_id) if course_id else (Program, program_id)
    try:
        target = model.objects.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        target = None
    if target is None:
        raise _Refused(f"unknown {'course' if course_id else 'program'} {value}")
    return target


def _import_row(row: dict, *, now: datetime, allowed) -> RowReport:
    email = (row.get("email") or "").strip()
    course_id, program_id = (row.get("courseId") or "").strip(), (row.get("programId") or "").strip()
    if not email or "@" not in email:
        raise _Refused("a valid email is required")
    target = _target(course_id, program_id)
    if allowed is not None and not allowed(target):
        raise _Refused("you may not enroll people in this department")
    expires_at = _parse_expiry(row.get("expiresAt") or "", now)
    user = _person(email, now)
    try:
        opened = enrollment_open(user=user, course=target if course_id else None,
                                 program=target if program_id else None, source=EnrollmentSource.IMPORT,
                                 granted_at=now, expires_at=expires_at, now=now)
    except ApplicationError as exc:
        raise _Refused(exc.message) from None
    outcome = {"granted": "enrolled"}.get(opened.outcome, opened.outcome)
    return RowReport(0, email, course_id or program_id, outcome, enrollment_id=str(opened.enrollment.pk))


def enrollments_import(*, text: str, dry_run: bool, now: datetime, allowed=None, rows=None) -> list[RowReport]:
    """Imports the CSV ``text``; ``allowed(course_or_program) -> bool`` limits it to the actor's departments;
    ``rows(iterable)`` wraps the rows as they are read (the command's progress bar)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {name.strip() for name in (reader.fieldnames or [])}
    if "email" not in headers or not headers & {"courseId", "programId"}:
        return [RowReport(1, "", "", "refused", "the header row must name email and courseId or programId")]
    reports: list[RowReport] = []
    try:
        with transaction.atomic():
            numbered = enumerate(reader, start=2)
            for number, row in (rows(numbered) if rows else numbered):
                if number > MAX_ROWS + 1:
                    reports.append(RowReport(number, "", "", "refused", f"more than {MAX_ROWS} rows; split the file"))
                    break
                row = {(key or "").strip(): value for key, value in row.items()}
                email = (row.get("email") or "").strip()
                target = (row.get("courseId") or row.get("programId") or "").strip()
                try:
                    with transaction.atomic():
                        report = _import_row(row, now=now, allowed=allowed)
                    reports.append(RowReport(number, email, target, report.outcome, report.reason,
                                             report.enrollment_id))
                except _Refused as refused:
                    reports.append(RowReport(number, email, target, "refused", str(refused)))
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    return reports
