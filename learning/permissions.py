"""Access rights: each staff role is a named set of rights; ONE function decides, :func:`access_check`.

A role held in a department holds in every department below it (the materialised path makes
"the department or one of its ancestors" a ``path IN (prefixes)`` test), never in a sibling;
``global-admin`` holds every right everywhere. Course staff (instructor, content creator) hold
their course-level rights on that course only. Whatever is asked, the answer costs at most one query.
"""

from django.db.models import Exists, OuterRef, Q

from learning.models import (
    Course,
    CourseStaff,
    CourseStaffRole,
    Department,
    LmsUser,
    LmsUserType,
    Membership,
    StaffRole,
)


class Right:
    """The named rights (spec 4.2: "granular permissions such as content:courses:manage")."""

    DEPARTMENT_MANAGE = "department:structure:manage"
    MEMBERSHIP_MANAGE = "department:memberships:manage"
    COURSE_READ = "content:courses:read"
    COURSE_MANAGE = "content:courses:manage"
    PROGRAM_MANAGE = "content:programs:manage"
    CLASS_MANAGE = "content:classes:manage"
    EXAM_MANAGE = "content:exams:manage"  # build a course's exams: settings and questions
    ENROLLMENT_READ = "enrollment:department:read"
    ENROLLMENT_MANAGE = "enrollment:department:manage"
    GRADE = "teaching:answers:grade"
    INTERACTION_RECORD = "teaching:interactions:record"
    INTERACTION_VERIFY = "teaching:interactions:verify"
    REVENUE_READ = "billing:revenue:read"
    REVENUE_MANAGE = "billing:revenue:manage"


ALL_RIGHTS = frozenset(value for name, value in vars(Right).items() if name.isupper())

ROLE_RIGHTS: dict[str, frozenset[str]] = {
    StaffRole.INSTRUCTOR: frozenset({Right.COURSE_READ, Right.ENROLLMENT_READ, Right.GRADE,
                                     Right.INTERACTION_RECORD, Right.EXAM_MANAGE}),
    StaffRole.CONTENT_ADMIN: frozenset({Right.COURSE_READ, Right.COURSE_MANAGE, Right.PROGRAM_MANAGE,
                                        Right.CLASS_MANAGE, Right.EXAM_MANAGE}),
    StaffRole.DEPARTMENT_ADMIN: ALL_RIGHTS - {Right.REVENUE_MANAGE},
    StaffRole.BILLING_ADMIN: frozenset({Right.COURSE_READ, Right.ENROLLMENT_READ, Right.REVENUE_READ,
                                        Right.REVENUE_MANAGE}),
}

# What being on a course's staff gives, on that course alone.
COURSE_STAFF_RIGHTS: dict[str, frozenset[str]] = {
    CourseStaffRole.INSTRUCTOR: frozenset({Right.COURSE_READ, Right.ENROLLMENT_READ, Right.GRADE,
                                           Right.INTERACTION_RECORD, Right.EXAM_MANAGE}),
    CourseStaffRole.CONTENT_CREATOR: frozenset({Right.COURSE_READ, Right.COURSE_MANAGE, Right.EXAM_MANAGE}),
}


def roles_with(right: str) -> list[str]:
    return [role for role, rights in ROLE_RIGHTS.items() if right in rights]


def course_roles_with(right: str) -> list[str]:
    return [role for role, rights in COURSE_STAFF_RIGHTS.items() if right in rights]


def is_global_admin(user) -> bool:
    return bool(user) and getattr(user, "is_active", False) and LmsUserType.GLOBAL_ADMIN in (user.user_types or ())


def ancestor_paths(path: str) -> list[str]:
    """The paths of a node and of every ancestor (treebeard's fixed-width steps)."""
    step = Department.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


def access_check(*, user: LmsUser | None, right: str, department: Department | None = None,
                 course: Course | None = None) -> bool:
    """Whether ``user`` holds ``right`` in ``department`` (or on ``course``, which implies its department).

    Pass the course with its department loaded (``select_related("department")``) and the
    answer is one query however deep the tree; a right no role grants is answered with none.
    """
    if right not in ALL_RIGHTS:
        raise ValueError(f"unknown access right {right!r}")
    if not user or not getattr(user, "is_active", False) or getattr(user, "pk", None) is None:
        return False
    if is_global_admin(user):
        return True
    if course is not None:
        department = course.department
    if department is None:
        return False
    checks = Q()
    roles = roles_with(right)
    if roles:
        checks |= Q(Exists(Membership.objects.filter(user_id=user.pk, role__in=roles,
                                                      department__path__in=ancestor_paths(department.path))))
    staff_roles = course_roles_with(right) if course is not None else []
    if staff_roles:
        checks |= Q(Exists(CourseStaff.objects.filter(user_id=user.pk, course_id=course.pk, role__in=staff_roles)))
    if not checks:
        return False
    return LmsUser.objects.filter(pk=user.pk).filter(checks).exists()


def departments_where(*, user: LmsUser, right: str):
    """The departments in which ``user`` holds ``right`` (their memberships' subtrees), as a queryset."""
    if is_global_admin(user):
        return Department.objects.all()
    paths = list(Membership.objects.filter(user_id=user.pk, role__in=roles_with(right))
                 .values_list("department__path", flat=True))
    if not paths:
        return Department.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Department.objects.filter(condition)


def courses_where(*, user: LmsUser, right: str):
    """Courses where ``user`` holds ``right``: in their departments' subtrees, or as course staff."""
    if is_global_admin(user):
        return Course.objects.all()
    in_departments = Q(department__in=departments_where(user=user, right=right))
    staff_roles = course_roles_with(right)
    if staff_roles:
        in_departments |= Q(Exists(CourseStaff.objects.filter(user_id=user.pk, role__in=staff_roles,
                                                              course_id=OuterRef("pk"))))
    return Course.objects.filter(in_departments)


def is_staff_anywhere(user: LmsUser) -> bool:
    if is_global_admin(user):
        return True
    return (Membership.objects.filter(user_id=user.pk).exists()
            or CourseStaff.objects.filter(user_id=user.pk).exists())


def access_check_by_ids(*, lms_user_id: str, right: str, course_id: str | None = None) -> bool:
    """:func:`access_check` for callers that hold ids only (the LearningPort, other apps' pages).

    Without a course: whether the user holds the right in some department (or as course staff).
    """
    from django.core.exceptions import ValidationError

    try:
        user = LmsUser.objects.filter(pk=lms_user_id).first()
        course = Course.objects.select_related("department").filter(pk=course_id).first() if course_id else None
    except (ValueError, ValidationError):
        return False
    if user is None or (course_id and course is None):
        return False
    if course is not None:
        return access_check(user=user, right=right, course=course)
    if right not in ALL_RIGHTS:
        raise ValueError(f"unknown access right {right!r}")
    if is_global_admin(user):
        return True
    return (Membership.objects.filter(user_id=user.pk, role__in=roles_with(right)).exists()
            or CourseStaff.objects.filter(user_id=user.pk, role__in=course_roles_with(right)).exists())
