"""The storefront pages: cart (anonymous and merged at login), checkout, pay with the test gateway, the self-updating
confirmation, history with search and filters, receipt HTML and PDF, refund request, and the admin."""

import re

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus, TaxRate
from tests.identity.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _no_inline_script(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> is forbidden by the CSP"
    assert not re.search(r"\son[a-z]+=", html), "on* attributes are forbidden by the CSP"


def test_an_anonymous_cart_is_kept_through_login(client, products):
    response = client.post("/cart/items/", {"product_id": "p1"})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    page = client.get("/cart/").content.decode()
    assert "Course p1" in page and "$199.00" in page and "Log in to check out" in page
    user = UserFactory(verified=True)
    login = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert login.status_code == 302
    page = client.get("/cart/").content.decode()
    assert "Course p1" in page and 'data-testid="checkout"' in page


def test_adding_an_unknown_product_shows_the_error(client, products):
    client.post("/cart/items/", {"product_id": "nope"})
    page = client.get("/cart/").content.decode()
    assert "empty" in page.lower()


def test_a_signed_in_buyer_s_add_is_one_transaction_and_a_refused_one_makes_no_cart(
        client, buyer, products):
    from orders.models import Cart

    client.force_login(buyer)
    client.post("/cart/items/", {"product_id": "nope"})
    assert not Cart.objects.filter(user_id=buyer.pk).exists()
    response = client.post("/cart/items/", {"product_id": "p1"})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert list(Cart.objects.get(user_id=buyer.pk).items.values_list("product_id", flat=True)) == ["p1"]
    again = client.post("/cart/items/", {"product_id": "p1"})  # once only: the page says so, nothing is added
    assert again.status_code == 302
    assert Cart.objects.get(user_id=buyer.pk).items.count() == 1


def test_checkout_pay_and_the_confirmation_that_updates_itself(client, buyer, products, lms, deliver):
    TaxRate.objects.create(country="DE", name="VAT", rate="0.19", inclusive=True)
    client.force_login(buyer)
    client.post("/cart/items/", {"product_id": "p1"})
    checkout = client.get("/checkout/?billing_country=DE").content.decode()
    assert "VAT 19 %" in checkout and "(included)" in checkout
    _no_inline_script(checkout)
    placed = client.post("/checkout/", {"billing_country": "DE"})
    order = Order.objects.get()
    assert placed["Location"] == f"/checkout/{order.pk}/pay/"
    pay = client.get(placed["Location"]).content.decode()
    assert "Test gateway" in pay and "pm_card_visa" in pay and "Test mode" in pay
    _no_inline_script(pay)
    paid = client.post(placed["Location"], {"payment_method": "pm_card_visa"})
    assert paid["Location"] == f"/orders/{order.pk}/"
    confirmation = client.get(paid["Location"]).content.decode()
    assert "Paid, enrolling…" in confirmation and 'hx-trigger="every 2s"' in confirmation
    deliver()
    fragment = client.get(f"/orders/{order.pk}/status/").content.decode()
    assert "Completed." in fragment and "hx-trigger" not in fragment and "Enrolled" in fragment


def test_a_declined_card_and_three_d_secure_on_the_pages(client, buyer, products, lms):
    client.force_login(buyer)
    client.post("/cart/items/", {"product_id": "p1"})
    client.post("/checkout/", {})
    order = Order.objects.get()
    declined = client.post(f"/checkout/{order.pk}/pay/", {"payment_method": "pm_card_chargeDeclined"}, follow=True)
    assert "declined" in declined.content.decode()
    action = client.post(f"/checkout/{order.pk}/pay/", {"payment_method": "pm_card_authenticationRequired"})
    assert action["Location"] == f"/checkout/{order.pk}/authenticate/"
    assert "3-D Secure" in client.get(action["Location"]).content.decode()
    client.post(action["Location"], {"decision": "approve"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_order_pages_are_the_buyers_only(client, buyer, buy, lms):
    order = buy(buyer, "p1")
    client.force_login(UserFactory())
    for path in (f"/orders/{order.pk}/", f"/orders/{order.pk}/receipt/", f"/orders/{order.pk}/receipt.pdf",
                 f"/orders/{order.pk}/refund/", f"/checkout/{order.pk}/pay/", f"/orders/{order.pk}/status/"):
        assert client.get(path).status_code == 404, path


def test_history_has_search_filters_and_pages(client, buyer, buy, lms, products):
    for index in range(12):
        products.add(id=f"x{index}", price="5.00", name=f"Topic {index}", external_id=f"course-x{index}")
        buy(buyer, f"x{index}")
    client.force_login(buyer)
    first = client.get("/orders/").content.decode()
    assert "Page 1 of 2" in first
    found = client.get("/orders/?q=Topic 3").content.decode()
    assert "Topic 3" in found and "Topic 4" not in found
    assert "No orders" in client.get("/orders/?status=refunded").content.decode()


def test_history_says_what_a_paid_order_waits_for(client, buyer, buy, lms, products):
    lms.answers["course-2"] = "pending_approval"
    buy(buyer, "p2")
    lms.down = True
    buy(buyer, "p1")
    client.force_login(buyer)
    page = client.get("/orders/").content.decode()
    assert "Paid, waiting for approval" in page and "Paid, enrolling" in page


def test_history_query_count_is_bounded(client, buyer, buy, lms, products, django_assert_max_num_queries):
    for index in range(5):
        products.add(id=f"y{index}", price="5.00", external_id=f"course-y{index}")
        buy(buyer, f"y{index}")
    client.force_login(buyer)
    client.get("/orders/")
    with django_assert_max_num_queries(12):
        client.get("/orders/")


def test_receipt_html_and_pdf_from_one_template(client, buyer, buy, lms):
    TaxRate.objects.create(country="FR", name="TVA", rate="0.20", inclusive=True)
    order = buy(buyer, "p1", country="FR")
    client.force_login(buyer)
    html = client.get(f"/orders/{order.pk}/receipt/").content.decode()
    assert order.number in html and "TVA 20 %" in html and "included in the prices" in html and "$199.00" in html
    # The receipt is a page of its own (no base.html): without its icon the browser asks /favicon.ico, a 404.
    assert re.search(r'<link rel="icon"[^>]+href="/static/favicon[^"]*\.svg"', html)
    pdf = client.get(f"/orders/{order.pk}/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_refund_request_page(client, buyer, buy, lms):
    order = buy(buyer, "p1")
    client.force_login(buyer)
    page = client.get(f"/orders/{order.pk}/refund/").content.decode()
    assert "Course p1" in page
    line = order.lines.get()
    client.post(f"/orders/{order.pk}/refund/", {"line_ids": [str(line.pk)], "reason": "not for me"})
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_admin_lists_orders_and_refunds_per_line(client, commerce_admin, buyer, buy, lms):
    order = buy(buyer, "p1", "p2")
    client.force_login(commerce_admin)
    listing = client.get("/admin/orders/order/?q=" + order.number)
    assert listing.status_code == 200 and order.number in listing.content.decode()
    change = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "timeline" in change.lower() and "Enrolled" in change and "Order placed" in change
    line = order.lines.get(external_id="course-2")
    form = client.get(f"/admin/orders/order/{order.pk}/refund/")
    assert form.status_code == 200
    client.post(f"/admin/orders/order/{order.pk}/refund/", {"lines": [str(line.pk)], "reason": "admin refund"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    client.post("/admin/orders/order/", {"action": "retry_fulfilment", "_selected_action": [str(order.pk)]})
    for path in ("/admin/orders/payment/", "/admin/orders/refund/", "/admin/orders/taxrate/",
                 "/admin/orders/stripeevent/", "/admin/orders/enrollmentstatusreceipt/"):
        assert client.get(path).status_code == 200, path


def test_personal_data_through_the_port_and_erasure_keeps_orders_anonymous(buyer, buy, lms):
    from identity.services.accounts import user_erase
    from integration.ports.orders import orders_port
    from orders import remote

    order = buy(buyer, "p1")
    data = orders_port().personal_data(user_id=str(buyer.pk))
    assert data.orders[0]["number"] == order.number and data.orders[0]["payments"][0]["status"] == "succeeded"
    user_erase(user_id=buyer.pk, actor="test", now=timezone.now())
    assert Order.objects.filter(pk=order.pk).exists()
    assert remote.user_get(user_id=str(buyer.pk)).email.endswith("@invalid")
    assert buyer.email not in str(orders_port().personal_data(user_id=str(buyer.pk)))


def test_with_stripe_configured_the_pay_page_mounts_the_payment_element(client, buyer, products, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_page"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_page"
    client.force_login(buyer)
    client.post("/cart/items/", {"product_id": "p1"})
    client.post("/checkout/", {})
    order = Order.objects.get()
    assert order.gateway == "stripe"
    page = client.get(f"/checkout/{order.pk}/pay/").content.decode()
    assert 'id="payment-element"' in page and 'data-publishable-key="pk_test_page"' in page
    assert "orders/stripe-checkout.js" in page and 'data-amount="19900"' in page and "Test gateway" not in page
    _no_inline_script(page)
