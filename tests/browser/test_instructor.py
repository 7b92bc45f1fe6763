"""The instructor in a real browser: add a lesson to a draft course, publish it, find it in the store, and after a
sale see their share on "My earnings" (``/lms/earnings/``)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from learning.models import Course, CourseStaffRole
from learning.services.catalog import course_staff_assign
from tests.browser.conftest import buy, course_with_split
from tests.identity.factories import UserFactory
from tests.learning.conftest import identity_is_real
from tests.learning.factories import LmsUserFactory

TITLE = "Browser-built Statistics"


@pytest.fixture
def draft(site):
    instructor = UserFactory(email="browser-teacher@example.com")
    UserFactory(email="browser-author@example.com")
    lms_instructor = LmsUserFactory(email=instructor.email, commerce_user_id=str(instructor.pk))
    course = course_with_split(title=TITLE, instructor_email=instructor.email,
                               creator_email="browser-author@example.com", publish=False)
    for role in (CourseStaffRole.INSTRUCTOR, CourseStaffRole.CONTENT_CREATOR):  # teaches it and edits it
        course_staff_assign(course=course, user=lms_instructor, role=role, now=timezone.now())
    return instructor, lms_instructor, course


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_the_instructor_publishes_a_course_and_sees_the_sale_on_my_earnings(browser, draft):
    instructor, lms_instructor, course = draft
    page = browser.open("/lms/", user=instructor, lms_user=lms_instructor)
    page.get_by_role("link", name="Teach").click()
    page.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"{browser.base_url}/lms/teach/courses/{course.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Draft")

    lesson_form = page.locator("form:has(input[name=action][value=lesson])")
    lesson_form.locator("input[name=title]").fill("Means and medians")
    lesson_form.locator("textarea[name=body]").fill("The middle of things.")
    lesson_form.get_by_role("button", name="Add lesson").click()
    expect(page.locator(".messages")).to_contain_text("Lesson added.")
    expect(page.get_by_role("link", name="Means and medians")).to_be_visible()

    page.get_by_role("button", name="Publish to the store").click()
    expect(page.locator(".messages")).to_contain_text("Course published.")
    expect(page.locator("h1 .badge")).to_have_text("Published")
    assert Course.objects.get(pk=course.pk).status == "published"

    page.get_by_role("link", name="Store").click()
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()  # the publish reached the catalog

    buy(UserFactory(email="browser-student@example.com"), course)  # $120.00: fee 3.78, net 116.22, 30 % = 34.87

    page.goto(f"{browser.base_url}/lms/earnings/")
    row = page.locator("[data-testid=earnings-by-course] tbody tr", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("1")  # one sale
    expect(row.locator("td").last).to_have_text("$34.87")  # the currency's minor unit, format_money
    expect(page.locator("[data-testid=earnings-shares]")).to_contain_text("Instructor")
