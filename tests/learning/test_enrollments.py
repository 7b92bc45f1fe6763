"""Approval (enrollment.status to Commerce), rejection, revocation, expiry with its reminder, CSV import."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from integration.topics import Topic
from learning.errors import EnrollmentNotPending
from learning.models import Enrollment, LmsUser
from learning.services.enrollments import (
    enrollment_approve,
    enrollment_expiry_reminders_send,
    enrollment_open,
    enrollment_reject,
    enrollments_expire,
)
from learning.services.imports import enrollments_import
from learning.services.users import lms_user_erase
from learning.tasks import enrollments_expire_task
from tests.learning.factories import CourseFactory, EnrollmentFactory, LmsUserFactory

pytestmark = pytest.mark.django_db


def _pending():
    course = CourseFactory(requires_approval=True)
    opened = enrollment_open(user=LmsUserFactory(), course=course, source="commerce", granted_at=timezone.now(),
                             order_id="ord-9", order_item_id="line-9", now=timezone.now())
    assert opened.outcome == "pending_approval"
    return opened.enrollment


def test_approval_sends_enrollment_status_and_activates(outbox):
    enrollment = _pending()
    admin = LmsUserFactory(user_types=["staff", "global-admin"])
    enrollment_approve(enrollment=enrollment, actor=admin, now=timezone.now())
    enrollment.refresh_from_db()
    assert enrollment.status == "active" and enrollment.decided_by == str(admin.pk)
    [status] = outbox(Topic.ENROLLMENT_STATUS)
    assert status["source"] == "lms" and status["event"] == "enrollment.approved"
    assert status["payload"]["enrollmentId"] == str(enrollment.pk)
    assert (status["payload"]["orderId"], status["payload"]["orderItemId"]) == ("ord-9", "line-9")
    assert status["payload"]["approvedBy"] == str(admin.pk)
    assert [m["event"] for m in outbox(Topic.ENROLLMENT_LIFECYCLE)] == ["enrollment.activated"]
    with pytest.raises(EnrollmentNotPending):
        enrollment_reject(enrollment=enrollment, actor=admin, now=timezone.now())


def test_rejection_sends_enrollment_status_rejected(outbox):
    enrollment = _pending()
    enrollment_reject(enrollment=enrollment, actor=None, reason="Prerequisites missing", now=timezone.now())
    [status] = outbox(Topic.ENROLLMENT_STATUS)
    assert status["event"] == "enrollment.rejected" and status["payload"]["reason"] == "Prerequisites missing"
    [lifecycle] = outbox(Topic.ENROLLMENT_LIFECYCLE)
    assert lifecycle["event"] == "enrollment.revoked" and lifecycle["payload"]["reason"] == "rejected"


def test_a_manual_enrollment_sends_no_enrollment_status(outbox):
    course = CourseFactory(requires_approval=True)
    opened = enrollment_open(user=LmsUserFactory(), course=course, source="manual", granted_at=timezone.now(),
                             now=timezone.now())
    enrollment_approve(enrollment=opened.enrollment, actor=None, now=timezone.now())
    assert outbox(Topic.ENROLLMENT_STATUS) == []


def test_expiry_expires_and_the_reminder_goes_a_week_before(outbox, django_capture_on_commit_callbacks):
    now = timezone.now()
    soon = EnrollmentFactory(expires_at=now + timedelta(days=5), granted_at=now - timedelta(days=30))
    later = EnrollmentFactory(expires_at=now + timedelta(days=30), granted_at=now - timedelta(days=30))
    past = EnrollmentFactory(expires_at=now - timedelta(minutes=1), granted_at=now - timedelta(days=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert enrollment_expiry_reminders_send(now=now) == 1
        assert enrollment_expiry_reminders_send(now=now) == 0  # once
        assert enrollments_expire(now=now) == 1
    past.refresh_from_db()
    assert past.status == "expired"
    assert Enrollment.objects.get(pk=soon.pk).expiry_reminder_sent_at == now
    assert Enrollment.objects.get(pk=later.pk).expiry_reminder_sent_at is None
    subjects = sorted(m.subject for m in mail.outbox)
    assert any("ends in a week" in s for s in subjects) and any("expired" in s for s in subjects)
    assert [m["event"] for m in outbox(Topic.ENROLLMENT_LIFECYCLE)] == ["enrollment.expired"]
    assert enrollments_expire_task() == {"reminded": 0, "expired": 0}


def _csv(*rows):
    return "email,courseId,programId,expiresAt\n" + "\n".join(",".join(row) for row in rows) + "\n"


def test_the_csv_import_reports_each_row():
    course = CourseFactory()
    known = LmsUserFactory(email="known@example.com")
    LmsUserFactory(email="twice@example.com")
    EnrollmentFactory(user=LmsUser.objects.get(email="twice@example.com"), course=course)
    text = _csv(("known@example.com", str(course.pk), "", "2099-01-01"),
                ("twice@example.com", str(course.pk), "", ""),
                ("nobody@example.com", str(course.pk), "", ""),
                ("known@example.com", "", "", ""),
                ("known@example.com", "00000000-0000-0000-0000-000000000000", "", ""),
                ("known@example.com", str(course.pk), "", "yesterday"))
    reports = enrollments_import(text=text, dry_run=False, now=timezone.now())
    assert [(r.row, r.outcome) for r in reports] == [(2, "enrolled"), (3, "already_enrolled"), (4, "refused"),
                                                     (5, "refused"), (6, "refused"), (7, "refused")]
    assert "unknown email" in reports[2].reason and "unknown course" in reports[4].reason
    enrollment = Enrollment.objects.get(user=known)
    assert enrollment.source == "import" and enrollment.expires_at.year == 2099


def test_the_dry_run_changes_nothing(outbox):
    course = CourseFactory()
    LmsUserFactory(email="known@example.com")
    reports = enrollments_import(text=_csv(("known@example.com", str(course.pk), "", "")), dry_run=True,
                                 now=timezone.now())
    assert [r.outcome for r in reports] == ["enrolled"]
    assert not Enrollment.objects.exists() and outbox() == []


def test_an_erased_person_is_not_brought_back_by_an_import():
    course = CourseFactory()
    user = LmsUserFactory(email="gone@example.com", commerce_user_id="c-gone")
    lms_user_erase(commerce_user_id="c-gone")
    user.refresh_from_db()
    [report] = enrollments_import(text=_csv(("GONE@example.com", str(course.pk), "", "")), dry_run=False,
                                  now=timezone.now())
    assert report.outcome == "refused" and "erased" in report.reason


def test_the_command_prints_the_report_and_honours_dry_run(tmp_path, capsys):
    course = CourseFactory()
    LmsUserFactory(email="known@example.com")
    path = tmp_path / "rows.csv"
    path.write_text(_csv(("known@example.com", str(course.pk), "", ""), ("bad", str(course.pk), "", "")))
    call_command("import_enrollments", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "row 2: enrolled" in out and "row 3: refused" in out and "DRY RUN" in out
    assert not Enrollment.objects.exists()
    call_command("import_enrollments", str(path))
    assert Enrollment.objects.count() == 1
