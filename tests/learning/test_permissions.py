"""One permission function: roles inherited down the department tree, never to a sibling; global-admin holds all."""

import pytest

from learning.permissions import ROLE_RIGHTS, Right, access_check, access_check_by_ids, departments_where
from tests.learning.factories import (
    CourseFactory,
    CourseStaffFactory,
    LmsUserFactory,
    MembershipFactory,
    department,
    department_chain,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    root = department("University")
    school = department("School of Technology", root)
    web = department("Web", school)
    data = department("Data", school)
    return {"root": root, "school": school, "web": web, "data": data}


def test_a_parent_admin_acts_in_the_child_but_not_in_a_sibling(tree):
    admin = MembershipFactory(department=tree["web"], role="department-admin").user
    assert access_check(user=admin, right=Right.ENROLLMENT_MANAGE, department=tree["web"])
    assert not access_check(user=admin, right=Right.ENROLLMENT_MANAGE, department=tree["data"])  # sibling
    assert not access_check(user=admin, right=Right.ENROLLMENT_MANAGE, department=tree["school"])  # parent
    school_admin = MembershipFactory(department=tree["school"], role="department-admin").user
    for child in (tree["web"], tree["data"], tree["school"]):
        assert access_check(user=school_admin, right=Right.ENROLLMENT_MANAGE, department=child)
    assert not access_check(user=school_admin, right=Right.ENROLLMENT_MANAGE, department=tree["root"])


def test_each_role_holds_only_its_rights(tree):
    instructor = MembershipFactory(department=tree["school"], role="instructor").user
    assert access_check(user=instructor, right=Right.GRADE, department=tree["web"])
    assert not access_check(user=instructor, right=Right.COURSE_MANAGE, department=tree["web"])
    content = MembershipFactory(department=tree["school"], role="content-admin").user
    assert access_check(user=content, right=Right.COURSE_MANAGE, department=tree["web"])
    assert not access_check(user=content, right=Right.ENROLLMENT_MANAGE, department=tree["web"])
    billing = MembershipFactory(department=tree["school"], role="billing-admin").user
    assert access_check(user=billing, right=Right.REVENUE_MANAGE, department=tree["data"])
    assert not access_check(user=billing, right=Right.REVENUE_MANAGE, department=tree["root"])
    assert Right.REVENUE_MANAGE not in ROLE_RIGHTS["department-admin"]


def test_global_admin_holds_every_right_and_a_learner_none(tree):
    admin = LmsUserFactory(user_types=["staff", "global-admin"])
    learner = LmsUserFactory()
    for right in (Right.DEPARTMENT_MANAGE, Right.REVENUE_MANAGE, Right.GRADE):
        assert access_check(user=admin, right=right, department=tree["data"])
        assert not access_check(user=learner, right=right, department=tree["data"])
    assert departments_where(user=admin, right=Right.COURSE_READ).count() == 4


def test_course_staff_rights_hold_on_that_course_only(tree):
    course = CourseFactory(department=tree["web"])
    other = CourseFactory(department=tree["web"])
    instructor = CourseStaffFactory(course=course, role="instructor").user
    assert access_check(user=instructor, right=Right.GRADE, course=course)
    assert not access_check(user=instructor, right=Right.GRADE, course=other)
    assert not access_check(user=instructor, right=Right.COURSE_MANAGE, course=course)


def test_an_inactive_user_holds_nothing(tree):
    membership = MembershipFactory(department=tree["root"], role="department-admin")
    membership.user.is_active = False
    assert not access_check(user=membership.user, right=Right.COURSE_READ, department=tree["web"])


def test_an_unknown_right_is_a_programming_error(tree):
    with pytest.raises(ValueError):
        access_check(user=LmsUserFactory(), right="content:everything", department=tree["web"])


def test_access_over_a_five_level_tree_costs_one_query(django_assert_num_queries):
    levels = department_chain(5)
    admin = MembershipFactory(department=levels[0], role="department-admin").user
    stranger = MembershipFactory(department=department("Elsewhere"), role="department-admin").user
    course = CourseFactory(department=levels[4])
    with django_assert_num_queries(1):
        assert access_check(user=admin, right=Right.COURSE_MANAGE, department=levels[4])
    with django_assert_num_queries(1):
        assert not access_check(user=stranger, right=Right.COURSE_MANAGE, department=levels[4])
    course = type(course).objects.select_related("department").get(pk=course.pk)
    with django_assert_num_queries(1):
        assert access_check(user=admin, right=Right.GRADE, course=course)


def test_the_port_form_checks_by_ids(tree):
    admin = MembershipFactory(department=tree["school"], role="billing-admin").user
    course = CourseFactory(department=tree["web"])
    assert access_check_by_ids(lms_user_id=str(admin.pk), right=Right.REVENUE_READ, course_id=str(course.pk))
    assert access_check_by_ids(lms_user_id=str(admin.pk), right=Right.REVENUE_READ)
    assert not access_check_by_ids(lms_user_id=str(admin.pk), right=Right.REVENUE_READ, course_id="nope")
    sibling_course = CourseFactory(department=department("Other root"))
    assert not access_check_by_ids(lms_user_id=str(admin.pk), right=Right.REVENUE_READ,
                                   course_id=str(sibling_course.pk))
