"""The department admin's approval queue in a real browser: a bought course that needs approval waits, the admin
approves it, the learner's enrollment opens and the buyer's order line completes."""

import pytest
from playwright.sync_api import expect

from learning.models import Enrollment
from tests.browser.conftest import buy, course_with_split
from tests.identity.factories import UserFactory
from tests.learning.conftest import identity_is_real
from tests.learning.factories import LmsUserFactory, MembershipFactory

TITLE = "Browser-approved Surgery"
BUYER = "browser-resident@example.com"


@pytest.fixture
def waiting(site):
    UserFactory(email="browser-surgeon@example.com")
    UserFactory(email="browser-writer@example.com")
    course = course_with_split(title=TITLE, instructor_email="browser-surgeon@example.com",
                               creator_email="browser-writer@example.com", requires_approval=True)
    admin = MembershipFactory(user=LmsUserFactory(email="browser-dean@example.com", user_types=["staff"]),
                              department=course.department, role="department-admin").user
    buyer = UserFactory(email=BUYER)
    order_id = buy(buyer, course)
    enrollment = Enrollment.objects.get(course=course)
    assert enrollment.status == "pending"
    return admin, buyer, order_id, enrollment


@pytest.mark.browser
@pytest.mark.skipif(not identity_is_real(), reason="needs the identity app's pages and providers")
def test_the_department_admin_approves_and_the_buyers_order_completes(browser, waiting):
    admin, buyer, order_id, enrollment = waiting
    order_page = browser.open(f"/orders/{order_id}/", user=buyer)
    expect(order_page.locator("[data-testid=entitlement-1]")).to_have_text("Awaiting approval")

    page = browser.open("/lms/", lms_user=admin)
    page.get_by_role("link", name="Department admin").click()
    page.get_by_role("link", name="Approval queue").click()
    row = page.locator("[data-testid=approval-row]", has_text=BUYER)
    expect(row).to_contain_text(TITLE)
    expect(row).to_contain_text(order_id)
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.locator(".messages")).to_contain_text("Approved 1 enrollment.")
    expect(page.locator("[data-testid=approval-row]", has_text=BUYER)).to_have_count(0)  # left the queue
    enrollment.refresh_from_db()
    assert enrollment.status == "active"

    order_page.reload()  # the buyer's order: the approval reached the store
    expect(order_page.locator("[data-testid=order-status]")).to_contain_text("Completed")
    expect(order_page.locator("[data-testid=entitlement-1]")).to_have_text("Enrolled")
    browser.end_on(order_page)  # the screenshot shows the buyer's order
