"""The department-admin area (``/lms/admin/``): tree, memberships, courses, programs, classes, approvals, import."""

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integration.errors import ApplicationError
from learning.filters import ClassFilter, CourseFilter, EnrollmentFilter, MembershipFilter, ProgramFilter
from learning.models import Course, CourseClass, Department, Enrollment, EnrollmentStatus, Membership, Program
from learning.pages import lms_login_required, page_of, posted_pk, render_lms
from learning.pages.forms import (
    ClassForm,
    DepartmentForm,
    ImportForm,
    MembershipForm,
    OfferingForm,
    ProgramForm,
)
from learning.permissions import Right, access_check, departments_where, is_global_admin
from learning.services import catalog as catalog_services
from learning.services.enrollments import enrollment_approve, enrollment_reject
from learning.services.imports import enrollments_import
from learning.services.memberships import lms_user_for_email, membership_grant, membership_revoke

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _forbidden(request):
    return render_lms(request, "learning/forbidden.html", status=403)


def _render_admin(request, template: str, context: dict, *, status: int = 200):
    """An admin page with what its navigation may link: each link only where this person's rights open it."""
    user = request.lms_user
    nav = {"import": departments_where(user=user, right=Right.ENROLLMENT_MANAGE).exists()}
    if department := context.get("department"):
        nav["memberships"] = access_check(user=user, right=Right.MEMBERSHIP_MANAGE, department=department)
        nav["catalog"] = access_check(user=user, right=Right.COURSE_READ, department=department)
    return render_lms(request, template, {**context, "nav": nav}, status=status)


def _is_pk(model, value) -> bool:
    try:
        posted_pk(model, value)
    except Http404:
        return False
    return True


def _department(request, department_id, right: str):
    department = get_object_or_404(Department, pk=posted_pk(Department, department_id))
    return department if access_check(user=request.lms_user, right=right, department=department) else None


@require_http_methods(["GET", "POST"])
@lms_login_required
def admin_home(request):
    """The tree of the departments this person administers (each with the subtree below it)."""
    user = request.lms_user
    visible = departments_where(user=user, right=Right.ENROLLMENT_READ) | departments_where(
        user=user, right=Right.COURSE_READ)
    departments = list(visible.distinct().order_by("path"))
    form = DepartmentForm(request.POST or None)
    if request.method == "POST":
        parent = None
        if parent_id := request.POST.get("parent"):
            parent = _department(request, parent_id, Right.DEPARTMENT_MANAGE)
            if parent is None:
                return _forbidden(request)
        elif not is_global_admin(user):
            return _forbidden(request)
        if form.is_valid():
            created = catalog_services.department_create(name=form.cleaned_data["name"], parent=parent)
            messages.success(request, f"Department “{created.name}” created.")
            return redirect("lms-admin")
    pending = Enrollment.objects.filter(status=EnrollmentStatus.PENDING).filter(
        Q(course__department__in=departments_where(user=user, right=Right.ENROLLMENT_MANAGE))
        | Q(program__department__in=departments_where(user=user, right=Right.ENROLLMENT_MANAGE))).count()
    manageable = {d.pk for d in departments_where(user=user, right=Right.DEPARTMENT_MANAGE).only("pk")}
    # Each department's links, only those its pages open for this person (an instructor reads courses,
    # manages no membership).
    course_readable = set(departments_where(user=user, right=Right.COURSE_READ).values_list("pk", flat=True))
    membership_manageable = set(departments_where(user=user, right=Right.MEMBERSHIP_MANAGE)
                                .values_list("pk", flat=True))
    return _render_admin(request, "learning/admin/home.html", {
        "departments": departments, "manageable": manageable, "form": form, "pending": pending,
        "is_global_admin": is_global_admin(user), "course_readable": course_readable,
        "membership_manageable": membership_manageable})


@require_http_methods(["GET", "POST"])
@lms_login_required
def department_memberships(request, department_id):
    department = _department(request, department_id, Right.MEMBERSHIP_MANAGE)
    if department is None:
        return _forbidden(request)
    form = MembershipForm(request.POST or None)
    if request.method == "POST":
        if remove := request.POST.get("remove"):
            membership = get_object_or_404(Membership, pk=posted_pk(Membership, remove), department=department)
            membership_revoke(membership=membership)
            messages.success(request, f"{membership.user.email} is no longer {membership.role} here.")
            return redirect("lms-admin-memberships", department_id=department.pk)
        if form.is_valid():
            now = timezone.now()
            try:
                user = lms_user_for_email(email=form.cleaned_data["email"], now=now)
                membership_grant(user=user, department=department, role=form.cleaned_data["role"],
                                 granted_by=request.lms_user, now=now)
            except ApplicationError as exc:
                form.add_error("email", exc.message)
            else:
                messages.success(request, f"{user.email} is now {form.cleaned_data['role']} in {department.name}.")
                return redirect("lms-admin-memberships", department_id=department.pk)
    ancestors = Membership.objects.filter(department__in=department.get_ancestors()).select_related(
        "user", "department")
    filtered = MembershipFilter(request.GET, queryset=Membership.objects.filter(department=department)
                                .select_related("user").order_by("user__email"))
    page, query = page_of(request, filtered.qs)
    return _render_admin(request, "learning/admin/memberships.html", {
        "department": department, "form": form, "filter": filtered, "page": page, "query": query,
        "inherited": ancestors})


@require_http_methods(["GET", "POST"])
@lms_login_required
def department_courses(request, department_id):
    department = _department(request, department_id, Right.COURSE_READ)
    if department is None:
        return _forbidden(request)
    can_manage = access_check(user=request.lms_user, right=Right.COURSE_MANAGE, department=department)
    form = OfferingForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            return _forbidden(request)
        if form.is_valid():
            course = catalog_services.course_create(department=department, now=timezone.now(), **form.cleaned_data)
            messages.success(request, f"Course “{course.title}” created as a draft.")
            return redirect("lms-teach-course", course_id=course.pk)
    courses = Course.objects.filter(department__path__startswith=department.path).select_related("department")
    filtered = CourseFilter(request.GET, queryset=courses.order_by("title"))
    page, query = page_of(request, filtered.qs)
    return _render_admin(request, "learning/admin/courses.html", {
        "department": department, "form": form, "filter": filtered, "page": page, "query": query,
        "can_manage": can_manage})


@require_http_methods(["GET", "POST"])
@lms_login_required
def department_programs(request, department_id):
    department = _department(request, department_id, Right.COURSE_READ)
    if department is None:
        return _forbidden(request)
    can_manage = access_check(user=request.lms_user, right=Right.PROGRAM_MANAGE, department=department)
    courses = Course.objects.filter(department__path__startswith=department.path).order_by("title")
    form = ProgramForm(request.POST or None, courses=courses)
    now = timezone.now()
    if request.method == "POST":
        if not can_manage:
            return _forbidden(request)
        if action := request.POST.get("action"):
            program = get_object_or_404(Program, pk=posted_pk(Program, request.POST.get("program")),
                                        department__path__startswith=department.path)
            service = {"publish": catalog_services.program_publish,
                       "archive": catalog_services.program_archive}.get(action)
            if service:
                service(program=program, now=now)
                messages.success(request, f"Program “{program.title}” {action}ed.")
            return redirect("lms-admin-programs", department_id=department.pk)
        if form.is_valid():
            values = dict(form.cleaned_data)
            chosen = list(values.pop("courses") or [])
            program = catalog_services.program_create(department=department, courses=chosen, now=now, **values)
            messages.success(request, f"Program “{program.title}” created as a draft.")
            return redirect("lms-admin-programs", department_id=department.pk)
    programs = (Program.objects.filter(department__path__startswith=department.path)
                .prefetch_related("program_courses__course").order_by("title"))
    filtered = ProgramFilter(request.GET, queryset=programs)
    page, query = page_of(request, filtered.qs)
    return _render_admin(request, "learning/admin/programs.html", {
        "department": department, "form": form, "filter": filtered, "page": page, "query": query,
        "can_manage": can_manage})


@require_http_methods(["GET", "POST"])
@lms_login_required
def department_classes(request, department_id):
    department = _department(request, department_id, Right.COURSE_READ)
    if department is None:
        return _forbidden(request)
    can_manage = access_check(user=request.lms_user, right=Right.CLASS_MANAGE, department=department)
    courses = Course.objects.filter(department__path__startswith=department.path).order_by("title")
    form = ClassForm(request.POST or None, courses=courses)
    if request.method == "POST":
        if not can_manage:
            return _forbidden(request)
        if form.is_valid():
            values = form.cleaned_data
            now = timezone.now()
            try:
                instructor = (lms_user_for_email(email=values["instructor_email"], now=now)
                              if values["instructor_email"] else None)
                course_class = catalog_services.class_create(
                    course=values["course"], title=values["title"], starts_at=values["starts_at"],
                    ends_at=values["ends_at"], capacity=values["capacity"], schedule=values["schedule"],
                    instructor=instructor, now=now)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Class “{course_class.title}” created.")
                return redirect("lms-admin-classes", department_id=department.pk)
    classes = (CourseClass.objects.filter(course__department__path__startswith=department.path)
               .select_related("course", "instructor").order_by("starts_at"))
    filtered = ClassFilter(request.GET, queryset=classes)
    page, query = page_of(request, filtered.qs)
    return _render_admin(request, "learning/admin/classes.html", {
        "department": department, "form": form, "filter": filtered, "page": page, "query": query,
        "can_manage": can_manage})


def _queue(user):
    departments = departments_where(user=user, right=Right.ENROLLMENT_MANAGE)
    return (Enrollment.objects.filter(Q(course__department__in=departments) | Q(program__department__in=departments))
            .select_related("user", "course", "program", "course_class").order_by("created_at"))


@require_GET
@lms_login_required
def approval_queue(request):
    data = request.GET.copy()
    data.setdefault("status", EnrollmentStatus.PENDING)
    queryset = _queue(request.lms_user)
    courses = Course.objects.filter(pk__in=queryset.values("course_id")).order_by("title")
    filtered = EnrollmentFilter(data, queryset=queryset, courses=courses)
    page, query = page_of(request, filtered.qs)
    return _render_admin(request, "learning/admin/approvals.html", {"filter": filtered, "page": page, "query": query})


@require_POST
@lms_login_required
def approval_bulk(request):
    """Approve or reject the ticked enrollments; each is checked against the actor's departments."""
    action = request.POST.get("action")
    ids = request.POST.getlist("enrollment")
    reason = request.POST.get("reason", "")[:500]
    valid = [pk for pk in ids if _is_pk(Enrollment, pk)]  # one that is no id is counted as outside, below
    allowed = ({str(pk) for pk in _queue(request.lms_user).filter(pk__in=valid).values_list("pk", flat=True)}
               if valid else set())
    done, refused = 0, []
    now = timezone.now()
    for enrollment in Enrollment.objects.filter(pk__in=allowed):
        try:
            if action == "approve":
                enrollment_approve(enrollment=enrollment, actor=request.lms_user, now=now)
            elif action == "reject":
                enrollment_reject(enrollment=enrollment, actor=request.lms_user, reason=reason, now=now)
            else:
                continue
            done += 1
        except ApplicationError as exc:
            refused.append(exc.message)
    if done:
        messages.success(request, f"{'Approved' if action == 'approve' else 'Rejected'} {done} enrollment{'s' if done != 1 else ''}.")
    if len(ids) > len(allowed):
        messages.error(request, f"{len(ids) - len(allowed)} enrollment(s) are outside your departments.")
    for message in sorted(set(refused)):
        messages.error(request, message)
    back = request.POST.get("back", "")
    return redirect(back if back.startswith("/lms/admin/approvals/") else "lms-admin-approvals")


@require_http_methods(["GET", "POST"])
@lms_login_required
def import_page(request):
    """CSV bulk enrollment, limited to the departments where the person may manage enrollments."""
    user = request.lms_user
    if not departments_where(user=user, right=Right.ENROLLMENT_MANAGE).exists():
        return _forbidden(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    reports, dry_run = None, False
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            form.add_error("file", "The file is larger than 2 MB; split it.")
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            else:
                dry_run = form.cleaned_data["dry_run"]

                def allowed(target) -> bool:
                    return access_check(user=user, right=Right.ENROLLMENT_MANAGE,
                                        department=Department.objects.get(pk=target.department_id))

                reports = enrollments_import(text=text, dry_run=dry_run, now=timezone.now(), allowed=allowed)
    return _render_admin(request, "learning/admin/import.html", {"form": form, "reports": reports, "dry_run": dry_run})
