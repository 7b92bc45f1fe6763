"""The admin pages for LMS users and legacy credentials: search, filters, and no hash ever shown."""

import pytest

from tests.learning.factories import LegacyHashBackupFactory, LegacyUserFactory, LmsUserFactory

pytestmark = pytest.mark.django_db


def test_lms_users_are_searchable_and_filterable(admin_client):
    legacy = LegacyUserFactory(email="findme@example.com")
    LmsUserFactory(email="other@example.com", commerce_user_id="c-77")
    base = "/admin/learning/lmsuser/"
    assert b"findme@example.com" in admin_client.get(base, {"q": "findme"}).content
    assert b"other@example.com" in admin_client.get(base, {"q": "c-77"}).content
    linked = admin_client.get(base, {"linked": "yes"}).content
    assert b"other@example.com" in linked and b"findme@example.com" not in linked
    with_password = admin_client.get(base, {"legacy_password": "yes"}).content
    assert b"findme@example.com" in with_password and b"other@example.com" not in with_password

    page = admin_client.get(f"{base}{legacy.pk}/change/")
    assert page.status_code == 200
    assert b"bcrypt" in page.content
    assert legacy.legacy_credential.password_hash.split("$", 1)[1].encode() not in page.content


def test_hash_backups_are_read_only(admin_client):
    backup = LegacyHashBackupFactory()
    base = "/admin/learning/legacyhashbackup/"
    listing = admin_client.get(base, {"restored_at__isnull": "True"})
    assert listing.status_code == 200 and backup.email.encode() in listing.content
    detail = admin_client.get(f"{base}{backup.pk}/change/")
    assert detail.status_code == 200
    assert backup.password_hash.split("$", 1)[1].encode() not in detail.content
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{backup.pk}/delete/").status_code == 403


# --- the LMS proper: every list bounded, records read-only, staff changes through the services ----------------

from datetime import timedelta  # noqa: E402

from django.core import mail  # noqa: E402
from django.utils import timezone  # noqa: E402

from learning.models import (  # noqa: E402
    Certificate,
    CourseClass,
    CourseCompletion,
    CourseStaff,
    EntitlementLine,
    ExamAttempt,
    Interaction,
    Membership,
)
from tests.admin_lists import assert_lists_flat  # noqa: E402
from tests.learning.factories import (  # noqa: E402
    CourseFactory,
    CourseStaffFactory,
    EnrollmentFactory,
    ExamFactory,
    MembershipFactory,
    ProgramFactory,
)

LMS_LISTS = ["course", "program", "courseclass", "exam", "membership", "coursestaff", "enrollment", "entitlementline",
             "certificate", "interaction", "examattempt", "coursecompletion", "lmsuser", "department"]


def _learning(count: int) -> None:
    """``count`` of each: a course with its class, exam, staff and a department admin; a learner enrolled (once
    in the program too), granted by an order line, interacted with, attempted the exam, completed, certified."""
    now = timezone.now()
    for n in range(count):
        course = CourseFactory()
        staff = CourseStaffFactory(course=course)
        MembershipFactory(department=course.department)
        CourseClass.objects.create(course=course, title=f"Class {n}", starts_at=now, ends_at=now + timedelta(days=9),
                                   capacity=5, instructor=staff.user)
        exam = ExamFactory(course=course)
        enrollment = EnrollmentFactory(course=course, commerce_order_id=f"order-{n}-{course.pk}")
        EnrollmentFactory(user=enrollment.user, course=None, program=ProgramFactory(department=course.department))
        EntitlementLine.objects.create(line_key=f"key-{course.pk}", order_id=enrollment.commerce_order_id,
                                       product_type="course", external_id=str(course.pk),
                                       commerce_user_id=enrollment.user.commerce_user_id, state="granted",
                                       enrollment=enrollment, result_status="granted")
        Interaction.objects.create(enrollment=enrollment, instructor=staff.user, kind="discussion_reply",
                                   recorded_by=staff.user, occurred_at=now)
        ExamAttempt.objects.create(exam=exam, user=enrollment.user, number=1, status="graded", submitted_at=now,
                                   score_percent=80, passed=True)
        CourseCompletion.objects.create(user=enrollment.user, course=course, completed_at=now)
        Certificate.objects.create(code=f"CODE-{course.pk.hex[:8]}", user=enrollment.user, course=course,
                                   enrollment=enrollment, title=course.title, holder_email=enrollment.user.email,
                                   issued_at=now)


def test_every_lms_list_costs_the_same_for_two_rows_as_for_six(admin_client, django_assert_max_num_queries):
    _learning(2)
    assert_lists_flat(admin_client, [f"/admin/learning/{name}/" for name in LMS_LISTS], more=lambda: _learning(4),
                      max_queries=django_assert_max_num_queries)


def test_lms_lists_search_and_filter(admin_client):
    _learning(2)
    first, second = EntitlementLine.objects.select_related("enrollment__user").order_by("created_at")[:2]
    for name, query in (("enrollment", first.enrollment.user.email), ("entitlementline", first.order_id),
                        ("certificate", first.enrollment.user.email), ("interaction", first.enrollment.user.email),
                        ("examattempt", first.enrollment.user.email), ("coursecompletion", first.enrollment.user.email)):
        page = admin_client.get(f"/admin/learning/{name}/", {"q": query}).content.decode()
        assert first.enrollment.user.email in page and second.enrollment.user.email not in page, name
    for name in ("enrollment", "entitlementline", "certificate", "interaction", "examattempt", "coursecompletion",
                 "courseclass", "lmsuser"):
        assert b'class="toplinks"' in admin_client.get(f"/admin/learning/{name}/").content, name  # by date


def test_learners_records_are_not_deleted_or_made_by_hand(admin_client):
    _learning(1)
    for name, obj in (("enrollment", EntitlementLine.objects.get().enrollment), ("entitlementline",
                      EntitlementLine.objects.get()), ("certificate", Certificate.objects.get()),
                      ("examattempt", ExamAttempt.objects.get()), ("coursecompletion", CourseCompletion.objects.get())):
        assert admin_client.get(f"/admin/learning/{name}/{obj.pk}/delete/").status_code == 403, name
    for name in ("enrollment", "entitlementline", "certificate", "examattempt", "coursecompletion"):
        assert admin_client.get(f"/admin/learning/{name}/add/").status_code == 403, name


def test_course_staff_added_in_the_admin_goes_through_the_service_and_is_emailed(
        admin_client, django_capture_on_commit_callbacks):
    course = CourseFactory(title="Databases")
    person = LmsUserFactory(email="new.teacher@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/learning/coursestaff/add/", {
            "course": str(course.pk), "user": str(person.pk), "role": "instructor"})
    assert response.status_code == 302, response.content[:3000]
    staff = CourseStaff.objects.get(course=course, user=person)
    person.refresh_from_db()
    assert "staff" in person.user_types  # what the service adds
    assert [m.subject for m in mail.outbox] == ["You are now an instructor of Databases"]
    assert admin_client.get(f"/admin/learning/coursestaff/{staff.pk}/change/").status_code == 200  # view only
    admin_client.post(f"/admin/learning/coursestaff/{staff.pk}/delete/", {"post": "yes"})
    assert not CourseStaff.objects.filter(pk=staff.pk).exists()


def test_a_membership_added_in_the_admin_goes_through_the_service(admin_client, django_capture_on_commit_callbacks):
    from tests.learning.factories import department

    school = department("School of Law")
    person = LmsUserFactory(email="dean@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/learning/membership/add/", {
            "user": str(person.pk), "department": str(school.pk), "role": "department-admin",
            "granted_at_0": "2026-01-01", "granted_at_1": "10:00:00"})
    assert response.status_code == 302, response.content[:3000]
    membership = Membership.objects.get(user=person, department=school)
    assert [m.subject for m in mail.outbox] == ["You are now a department admin in School of Law"]
    admin_client.post(f"/admin/learning/membership/{membership.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(pk=membership.pk).exists()


def _change_form_data(page) -> dict:
    """What the course's change form would post back unchanged: its fields and every inline's rows."""
    data = {}
    form = page.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if value is not None and not (isinstance(value, bool) and not value):
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for row in formset.forms:
            for name in row.fields:
                value = row[name].value()
                if value is not None and not (isinstance(value, bool) and not value):
                    data[f"{row.prefix}-{name}"] = value
    return data


def test_staff_added_on_the_course_page_is_assigned_through_the_service(admin_client,
                                                                       django_capture_on_commit_callbacks):
    course = CourseFactory(title="Networks")
    old = CourseStaffFactory(course=course, user=LmsUserFactory(email="old.teacher@example.com"))
    person = LmsUserFactory(email="co.teacher@example.com")
    url = f"/admin/learning/course/{course.pk}/change/"
    data = _change_form_data(admin_client.get(url))
    data.update({"staff-TOTAL_FORMS": "2", "staff-1-course": str(course.pk), "staff-1-user": str(person.pk),
                 "staff-1-role": "content-creator", "staff-0-DELETE": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, [f.errors for i in response.context["inline_admin_formsets"]
                                         for f in i.formset.forms]
    assert list(CourseStaff.objects.filter(course=course).values_list("user__email", "role")) == [
        ("co.teacher@example.com", "content-creator")]
    assert not CourseStaff.objects.filter(pk=old.pk).exists()
    assert [m.subject for m in mail.outbox] == ["You are now a content creator of Networks"]
    person.refresh_from_db()
    assert "staff" in person.user_types
