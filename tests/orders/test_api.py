"""The storefront API exactly as shared/API.md writes it, its bad input, and the signed enrollment-status webhook."""

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from integration.contracts import encode_json
from integration.signing import signed_headers
from orders.models import EntitlementStatus, Order, OrderStatus
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(api_client):
    def login(user):
        api_client.force_authenticate(user=user)
        return api_client

    return login


def _error(response):
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return body["error"]["code"]


def test_the_whole_purchase_over_the_api(buyer, client_for, products, lms, deliver):
    api = client_for(buyer)
    assert api.get("/api/v1/cart/").json()["items"] == []
    added = api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    assert added.status_code == 201
    cart = added.json()
    assert cart["items"][0]["productId"] == "p1" and cart["totals"]["total"] == "199.00"
    checkout = api.post("/api/v1/checkout/", {"billingCountry": "US"}, format="json")
    assert checkout.status_code == 201
    body = checkout.json()
    assert set(body) >= {"orderId", "status", "totals", "payment"}
    assert body["status"] == "pending" and body["payment"]["provider"] == "test"
    paid = api.post(f"/api/v1/checkout/{body['orderId']}/pay/", {"paymentMethod": "pm_card_visa"}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    deliver()
    detail = api.get(f"/api/v1/orders/{body['orderId']}/").json()
    assert detail["status"] == "completed"
    (line,) = detail["lines"]
    assert line["entitlementStatus"] == "granted" and line["enrollmentId"] == "enr-1"
    assert detail["timeline"][0]["kind"] == "created"
    listing = api.get("/api/v1/orders/").json()
    assert set(listing) == {"results", "next", "previous"} and listing["results"][0]["id"] == body["orderId"]


def test_pay_answers_402_card_declined_and_then_requires_action(buyer, client_for, products, lms):
    api = client_for(buyer)
    api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    order_id = api.post("/api/v1/checkout/", {}, format="json").json()["orderId"]
    declined = api.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_chargeDeclined"},
                        format="json")
    assert declined.status_code == 402 and _error(declined) == "card_declined"
    action = api.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_authenticationRequired"},
                      format="json")
    assert action.status_code == 200
    body = action.json()
    assert body["requiresAction"] is True and body["clientSecret"] and body["status"] == "payment_failed"
    done = api.post(f"/api/v1/checkout/{order_id}/pay/",
                    {"paymentIntentId": body["paymentIntentId"], "clientSecret": body["clientSecret"]}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "paid"


def test_buying_twice_answers_409_already_owned(buyer, client_for, buy, lms):
    buy(buyer, "p1")
    response = client_for(buyer).post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    assert response.status_code == 409 and _error(response) == "already_owned"


@pytest.mark.parametrize("body,status", [
    ({"productId": "nope"}, 404),
    ({"productId": "p1", "quantity": 0}, 400),
    ({"productId": "p1", "quantity": -3}, 400),
    ({"productId": "p1", "quantity": "many"}, 400),
    ({}, 400),
])
def test_bad_cart_input_is_a_clear_4xx_and_the_cart_stays_as_it_was(buyer, client_for, products, body, status):
    api = client_for(buyer)
    api.post("/api/v1/cart/items/", {"productId": "p2"}, format="json")
    response = api.post("/api/v1/cart/items/", body, format="json")
    assert response.status_code == status
    _error(response)
    assert [item["productId"] for item in api.get("/api/v1/cart/").json()["items"]] == ["p2"]


def test_archived_product_and_currency_mismatch(buyer, client_for, products):
    products.add(id="old", price="5.00", status="archived")
    products.add(id="eur", price="5.00", currency="EUR")
    api = client_for(buyer)
    archived = api.post("/api/v1/cart/items/", {"productId": "old"}, format="json")
    assert archived.status_code in (409, 422) and "archived" in _error(archived)
    api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    mismatch = api.post("/api/v1/cart/items/", {"productId": "eur"}, format="json")
    assert mismatch.status_code == 409 and _error(mismatch) == "cart_currency_mismatch"


def test_coupon_endpoint_and_an_expired_coupon(buyer, client_for, products):
    from tests.orders.conftest import FakeCoupon

    products.coupons["TEN"] = FakeCoupon(code="TEN", percent=Decimal("10"))
    products.coupons["OLD"] = FakeCoupon(code="OLD", percent=Decimal("10"),
                                         valid_until=timezone.now() - timezone.timedelta(days=1))
    api = client_for(buyer)
    api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    applied = api.post("/api/v1/cart/coupon/", {"code": "TEN"}, format="json").json()
    assert applied["couponCode"] == "TEN" and applied["totals"]["discount"] == "19.90"
    expired = api.post("/api/v1/cart/coupon/", {"code": "OLD"}, format="json")
    assert expired.status_code == 422
    assert api.get("/api/v1/cart/").json()["couponCode"] == "TEN"


def test_removing_an_item(buyer, client_for, products):
    api = client_for(buyer)
    item_id = api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json").json()["items"][0]["id"]
    assert api.delete(f"/api/v1/cart/items/{item_id}/").json()["items"] == []
    missing = api.delete(f"/api/v1/cart/items/{item_id}/")
    assert missing.status_code == 404 and _error(missing) == "cart_item_not_found"


def test_checkout_with_an_empty_cart_or_a_bad_country(buyer, client_for, products):
    api = client_for(buyer)
    empty = api.post("/api/v1/checkout/", {}, format="json")
    assert empty.status_code == 422 and _error(empty) == "cart_empty"
    api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    bad = api.post("/api/v1/checkout/", {"billingCountry": "ZZ"}, format="json")
    assert bad.status_code == 400 and _error(bad) == "invalid_country"
    assert not Order.objects.exists()


@pytest.mark.parametrize("country", ["\u00b2", "\u00b2\u00b3", "\u0663", "12", "D\u0415", "\uff24\uff25"])
def test_a_country_of_digits_or_non_ascii_letters_is_invalid_country_not_a_crash(buyer, client_for, products,
                                                                                   country):
    """"\u00b2" (superscript two) is str.isdigit(), and django_countries' int() of it raised ValueError: a 500."""
    api = client_for(buyer)
    api.post("/api/v1/cart/items/", {"productId": "p1"}, format="json")
    bad = api.post("/api/v1/checkout/", {"billingCountry": country}, format="json")
    assert bad.status_code == 400 and _error(bad) == "invalid_country", bad.content
    assert not Order.objects.exists()


def test_orders_are_their_buyers_only(buyer, client_for, buy, lms):
    order = buy(buyer, "p1")
    stranger = client_for(UserFactory())
    assert stranger.get(f"/api/v1/orders/{order.pk}/").status_code == 404
    assert stranger.get("/api/v1/orders/").json()["results"] == []
    pay = stranger.post(f"/api/v1/checkout/{order.pk}/pay/", {"paymentMethod": "pm_card_visa"}, format="json")
    assert pay.status_code == 404
    refund = stranger.post(f"/api/v1/orders/{order.pk}/refunds/", {"reason": "mine"}, format="json")
    assert refund.status_code == 404
    assert stranger.get("/api/v1/orders/not-a-uuid/").status_code == 404


def test_the_api_needs_a_user(api_client):
    assert api_client.get("/api/v1/cart/").status_code == 401
    assert api_client.get("/api/v1/orders/").status_code == 401


def test_refunds_over_the_api_buyer_line_and_admin_amount(buyer, commerce_admin, client_for, buy, lms):
    order = buy(buyer, "p1", "p2")
    line = order.lines.get(external_id="course-2")
    mine = client_for(buyer).post(f"/api/v1/orders/{order.pk}/refunds/",
                                  {"lineIds": [str(line.pk)], "reason": "wrong course"}, format="json")
    assert mine.status_code == 201
    assert mine.json()["order"]["status"] == "partially_refunded" and mine.json()["refund"]["amount"] == "50.00"
    admin = client_for(commerce_admin)
    too_much = admin.post(f"/api/v1/orders/{order.pk}/refunds/", {"amount": "199.01", "reason": "goodwill"},
                          format="json")
    assert too_much.status_code == 422 and _error(too_much) == "refund_exceeds_paid"
    partial = admin.post(f"/api/v1/orders/{order.pk}/refunds/", {"amount": "20.00", "reason": "goodwill"},
                         format="json")
    assert partial.status_code == 201 and partial.json()["order"]["refundedAmount"] == "70.00"
    bad = admin.post(f"/api/v1/orders/{order.pk}/refunds/", {"amount": "-1", "reason": "x"}, format="json")
    assert bad.status_code == 400
    no_reason = admin.post(f"/api/v1/orders/{order.pk}/refunds/", {}, format="json")
    assert no_reason.status_code == 400


def test_money_is_decimal_strings_with_minor_digits(buyer, client_for, products, lms):
    products.add(id="yen", price="1200", currency="JPY")
    api = client_for(buyer)
    body = api.post("/api/v1/cart/items/", {"productId": "yen"}, format="json").json()
    assert body["totals"]["total"] == "1200"


# --- signed webhook: POST /api/v1/webhooks/enrollment-status ------------------------

def _signed(client, path, payload, key):
    body = encode_json(payload)
    headers = signed_headers(body, idempotency_key=key, source_service="lms")
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
             if name != "Content-Type"}
    return client.post(path, data=body, content_type="application/json", **extra)


def test_the_enrollment_status_webhook_is_signed_and_deduplicated(client, buyer, buy, lms):
    lms.answers["course-1"] = "pending_approval"
    order = buy(buyer, "p1")
    line = order.lines.get()
    payload = {"source": "cadence-lms", "event": "enrollment.approved",
               "payload": {"enrollmentId": "enr-1", "orderId": str(order.pk), "orderItemId": str(line.pk),
                           "status": "approved", "approvedAt": timezone.now().isoformat(),
                           "approvedBy": "auto-approval"}}
    unsigned = client.post("/api/v1/webhooks/enrollment-status", data=json.dumps(payload),
                           content_type="application/json")
    assert unsigned.status_code == 401
    first = _signed(client, "/api/v1/webhooks/enrollment-status", payload, "k-1")
    assert first.status_code == 200 and first.json()["entitlementStatus"] == "granted"
    again = _signed(client, "/api/v1/webhooks/enrollment-status", payload, "k-2")
    assert again.status_code == 200 and again.json()["entitlementStatus"] == "granted"
    line.refresh_from_db()
    assert line.entitlement_status == EntitlementStatus.GRANTED
    mismatched = dict(payload, event="enrollment.rejected")
    assert _signed(client, "/api/v1/webhooks/enrollment-status", mismatched, "k-3").status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
