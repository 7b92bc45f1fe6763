"""The Stripe adapter against localstripe (a local server speaking Stripe's HTTP API), never the network.

The server is started per module on a free loopback port (``localstripe_server.py`` adds what localstripe
lacks); the SDK is pointed at it with ``STRIPE_API_BASE``. Its signed webhooks are caught by a small HTTP
listener here and replayed to our endpoint, twice and out of order.
"""

import json
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests
import stripe
from django.utils import timezone

from orders.errors import CardDeclined
from orders.models import OrderStatus, Payment, StripeEvent
from orders.services.carts import cart_get_or_create, cart_item_add
from orders.services.checkout import checkout_create
from orders.services.payments import order_pay
from orders.services.refunds import refund_create

pytestmark = pytest.mark.django_db
WEBHOOK_SECRET = "whsec_test_secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Catcher(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, self.headers["Stripe-Signature"]))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def localstripe():
    port = _free_port()
    script = Path(__file__).with_name("localstripe_server.py")
    process = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    catcher = HTTPServer(("127.0.0.1", 0), _Catcher)
    threading.Thread(target=catcher.serve_forever, daemon=True).start()
    try:
        for _ in range(100):
            try:
                requests.get(base + "/js.stripe.com/v3/", timeout=0.5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        requests.post(f"{base}/_config/webhooks/tests", timeout=5, data={
            "url": f"http://127.0.0.1:{catcher.server_port}/", "secret": WEBHOOK_SECRET})
        yield base
    finally:
        catcher.shutdown()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_on(settings, localstripe):
    settings.STRIPE_SECRET_KEY = "sk_test_orders"
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    _Catcher.received.clear()
    return localstripe


def _order(user):
    now = timezone.now()
    cart_item_add(cart=cart_get_or_create(user_id=user.pk, now=now), product_id="p1", user_id=user.pk, now=now)
    order = checkout_create(user_id=user.pk, now=now)
    assert order.gateway == "stripe"
    return order


def _events(kind: str, intent_id: str, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [(body, sig) for body, sig in _Catcher.received
                 if json.loads(body)["type"] == kind and json.loads(body)["data"]["object"]["id"] == intent_id]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event for {intent_id}")


def _post_event(client, body: bytes, signature: str):
    return client.post("/api/v1/webhooks/stripe", data=body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature)


def test_a_payment_intent_succeeds_with_the_fee_from_the_balance_transaction(stripe_on, buyer, products, lms):
    order = _order(buyer)
    result = order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_method="pm_card_visa")
    order.refresh_from_db()
    assert result.order.status == OrderStatus.PAID
    payment = Payment.objects.get(order=order)
    assert payment.intent_id.startswith("pi_") and payment.transaction_id.startswith("ch_")
    assert payment.fee == Decimal("6.07") == order.processor_fee  # 2.9 % of 199.00 + 0.30, from Stripe's side
    assert payment.idempotency_key == f"order:{order.pk}:attempt:1:pm_card_visa"


def test_the_same_attempt_key_charges_once(stripe_on, buyer, products, lms):
    from orders.gateways.stripe import StripeGateway

    gateway = StripeGateway()
    first = gateway.charge(amount=Decimal("10.00"), currency="USD", payment_method="pm_card_visa",
                           idempotency_key="same-key", metadata={})
    second = gateway.charge(amount=Decimal("10.00"), currency="USD", payment_method="pm_card_visa",
                            idempotency_key="same-key", metadata={})
    assert first.intent_id == second.intent_id


def test_a_decline_is_402_card_declined(stripe_on, buyer, products, lms):
    order = _order(buyer)
    with pytest.raises(CardDeclined):
        order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_method="pm_card_chargeDeclined")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_FAILED


def test_three_d_secure_then_the_webhook_settles_it_once_even_twice_and_out_of_order(
        stripe_on, client, buyer, products, lms):
    order = _order(buyer)
    first = order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(),
                      payment_method="pm_card_authenticationRequired")
    assert first.requires_action and first.client_secret.startswith(first.payment.intent_id)
    intent_id = first.payment.intent_id
    # The buyer passes the bank's step in the browser (Stripe.js; here localstripe's own endpoint).
    requests.post(f"{stripe_on}/v1/payment_intents/{intent_id}/_authenticate", timeout=5,
                  data={"client_secret": first.client_secret, "success": "true", "key": "pk_test_x"})
    ((body, signature),) = _events("payment_intent.succeeded", intent_id)
    answered = _post_event(client, body, signature)
    assert answered.status_code == 200 and "paid" in answered.json()["outcome"]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.processor_fee == Decimal("6.07")
    again = _post_event(client, body, signature)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    # A failure event for the same intent arriving late changes nothing.
    event = json.loads(body)
    event["id"] = event["id"] + "late"
    event["type"] = "payment_intent.payment_failed"
    event["data"]["object"]["status"] = "requires_payment_method"
    late = json.dumps(event).encode()
    late_signature = stripe.WebhookSignature._compute_signature(f"{int(time.time())}.{late.decode()}",
                                                                WEBHOOK_SECRET)
    assert _post_event(client, late, f"t={int(time.time())},v1={late_signature}").status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    assert StripeEvent.objects.count() == 2
    # And the buyer's page coming back afterwards finds it paid, charging nothing more.
    done = order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_intent_id=intent_id)
    assert done.order.status == OrderStatus.PAID


def test_a_bad_signature_and_an_unknown_intent_are_refused(stripe_on, client, buyer, products, lms):
    body = json.dumps({"id": "evt_x", "type": "payment_intent.succeeded",
                       "data": {"object": {"id": "pi_unknown", "object": "payment_intent", "status": "succeeded"}}})
    bad = _post_event(client, body.encode(), "t=1,v1=deadbeef")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_stripe_signature"
    now = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{now}.{body}", WEBHOOK_SECRET)
    unknown = _post_event(client, body.encode(), f"t={now},v1={signature}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_payment_intent"
    assert not StripeEvent.objects.exists()  # not recorded: a later retry may still match


def test_refunds_through_stripe_and_charge_already_refunded_is_success(stripe_on, buyer, products, lms):
    from orders.models import Refund

    order = _order(buyer)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_method="pm_card_visa")
    intent_id = Payment.objects.get(order=order).intent_id
    refund = refund_create(order_id=order.pk, reason="goodwill", initiator=Refund.Initiator.ADMIN, actor="admin:t",
                           now=timezone.now(), amount=Decimal("99.00"))
    assert refund.gateway_refund_id.startswith("re_")
    # Refunded the rest in Stripe's dashboard: our next refund meets charge_already_refunded, a success.
    client = stripe.StripeClient("sk_test_orders", base_addresses={"api": stripe_on})
    client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 10000})
    refund_create(order_id=order.pk, reason="rest", initiator=Refund.Initiator.ADMIN, actor="admin:t",
                  now=timezone.now())
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_amount == Decimal("199.00")


# --- refunds made outside the store (Stripe's dashboard) -----------------------------------------

def _refund_events(kind: str, refund_or_charge_id: str, timeout: float = 5.0) -> tuple[bytes, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for body, signature in _Catcher.received:
            event = json.loads(body)
            if event["type"] == kind and event["data"]["object"]["id"] == refund_or_charge_id:
                return body, signature
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event for {refund_or_charge_id}")


def _signed(event: dict) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    now = int(time.time())
    return body, f"t={now},v1={stripe.WebhookSignature._compute_signature(f'{now}.{body.decode()}', WEBHOOK_SECRET)}"


def _paid_with_stripe(buyer):
    order = _order(buyer)
    order_pay(order_id=order.pk, user_id=buyer.pk, now=timezone.now(), payment_method="pm_card_visa")
    return order, Payment.objects.get(order=order)


def _revokes(order) -> list:
    from integration.models import OutboxMessage

    return [m for m in OutboxMessage.objects.filter(aggregate_key=f"order:{order.pk}")
            if m.payload["event"] == "entitlement.revoked"]


def test_a_dashboard_refund_is_recorded_once_whichever_event_comes_first_and_however_often(
        stripe_on, client, buyer, products, lms):
    from orders.models import Refund

    order, payment = _paid_with_stripe(buyer)
    dashboard = stripe.StripeClient("sk_test_orders", base_addresses={"api": stripe_on})
    refund = dashboard.v1.refunds.create(params={"payment_intent": payment.intent_id, "amount": 5000})
    charge_event = _refund_events("charge.refunded", payment.transaction_id)
    refund_event = _refund_events("refund.created", refund.id)
    # Out of order (the charge's event before the refund's), each twice.
    for body, signature in (charge_event, refund_event, charge_event, refund_event):
        assert _post_event(client, body, signature).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.refunded_amount == Decimal("50.00")
    (recorded,) = Refund.objects.filter(order=order)
    assert recorded.gateway_refund_id == refund.id and recorded.initiator == Refund.Initiator.PROCESSOR
    assert recorded.amount == Decimal("50.00")
    assert _revokes(order) == []  # the line is not refunded in full: access stays
    assert "refund" in order.events.filter(kind="refund").get().message.lower()


def test_a_full_dashboard_refund_revokes_the_line_and_a_charge_event_without_its_refunds_is_read_from_stripe(
        stripe_on, client, buyer, products, lms, deliver):
    from orders.models import EntitlementStatus, OrderLine, Refund

    order, payment = _paid_with_stripe(buyer)
    dashboard = stripe.StripeClient("sk_test_orders", base_addresses={"api": stripe_on})
    refund = dashboard.v1.refunds.create(params={"payment_intent": payment.intent_id})
    body, _ = _refund_events("charge.refunded", payment.transaction_id)
    event = json.loads(body)
    event["data"]["object"].pop("refunds", None)  # as Stripe's API versions since 2022-11-15 send it
    assert _post_event(client, *_signed(event)).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_amount == order.total
    assert Refund.objects.get(order=order).gateway_refund_id == refund.id
    (revoke,) = _revokes(order)
    (line,) = OrderLine.objects.filter(order=order)
    assert revoke.payload["items"][0]["orderItemId"] == str(line.pk)
    assert revoke.payload["items"][0]["metadata"]["refundAmount"] == str(line.total)
    # The refund's own event, later, changes nothing; neither does a second copy of the charge's.
    assert _post_event(client, *_refund_events("refund.created", refund.id)).status_code == 200
    assert _post_event(client, *_signed({**event, "id": event["id"] + "b"})).status_code == 200
    order.refresh_from_db()
    assert order.refunded_amount == order.total and Refund.objects.filter(order=order).count() == 1
    assert len(_revokes(order)) == 1
    deliver()  # the grant, then the revoke, to the LMS stand-in
    line.refresh_from_db()
    assert line.entitlement_status == EntitlementStatus.REVOKED


def test_the_stores_own_refund_is_not_recorded_again_when_its_events_arrive(stripe_on, client, buyer, products, lms):
    from orders.models import Refund

    order, payment = _paid_with_stripe(buyer)
    ours = refund_create(order_id=order.pk, reason="goodwill", initiator=Refund.Initiator.ADMIN, actor="admin:t",
                         now=timezone.now(), amount=Decimal("20.00"))
    for kind, object_id in (("refund.created", ours.gateway_refund_id), ("charge.refunded", payment.transaction_id)):
        assert _post_event(client, *_refund_events(kind, object_id)).status_code == 200
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("20.00") and Refund.objects.filter(order=order).count() == 1
    assert StripeEvent.objects.filter(type="refund.created").get().outcome.startswith("duplicate")
