"""localstripe, with a thin stand-in for the few things of Stripe's API it lacks, for the Stripe adapter's tests.

Run as ``python tests/orders/localstripe_server.py PORT``; it listens on 127.0.0.1:PORT. What is added
(everything else is localstripe's own PaymentIntents, 3-D Secure step, refunds, events and signed webhooks):

* ``Idempotency-Key``: localstripe ignores it; here a POST repeated with the same key answers the first
  response, as Stripe does (the adapter's one-charge-per-attempt guarantee rests on it);
* Stripe's test payment methods ``pm_card_chargeDeclined`` and ``pm_card_authenticationRequired``
  (localstripe knows the card numbers, not these names);
* processor fees: localstripe's balance transactions carry ``fee: 0``; here a charge's fee is Stripe's
  US card price, 2.9 % + 30 cents, so the adapter's "fee from the balance transaction" is exercised;
* ``charge_already_refunded``: localstripe refunds a charge again without complaint; here a refund of a
  charge already refunded in full fails with that code, as Stripe does;
* refund events: localstripe sends none; here each refund sends ``refund.created`` (the refund, with its
  ``payment_intent``) and ``charge.refunded`` (the charge with its refunds), as Stripe does;
* nothing is written to ``/tmp/localstripe.pickle`` (parallel test runs would share it).
"""

import socket
import sys

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.webhooks import schedule_webhook

resources.Store.dump_to_disk = lambda self: None

_canonical = resources.PaymentMethod._try_get_canonical_test_article.__func__
EXTRA_TEST_CARDS = {"pm_card_chargeDeclined": "4000000000000341", "pm_card_authenticationRequired": "4000002500003155"}


def _test_article(cls, id):
    if id in EXTRA_TEST_CARDS:
        return resources.PaymentMethod(type="card", card={"number": EXTRA_TEST_CARDS[id], "exp_month": "12",
                                                          "exp_year": "2030", "cvc": "123"})
    return _canonical(cls, id)


resources.PaymentMethod._try_get_canonical_test_article = classmethod(_test_article)

_txn_init = resources.BalanceTransaction.__init__


def _txn_with_fee(self, *args, **kwargs):
    _txn_init(self, *args, **kwargs)
    if self.type == "charge" and self.amount > 0:
        self.fee = round(self.amount * 0.029) + 30
        self.fee_details = [{"amount": self.fee, "currency": self.currency, "type": "stripe_fee"}]


resources.BalanceTransaction.__init__ = _txn_with_fee

_refund_init = resources.Refund.__init__


def _refund_checked(self, charge=None, payment_intent=None, amount=None, **kwargs):
    charge_id = charge
    if payment_intent is not None:
        intent = resources.PaymentIntent._api_retrieve(payment_intent)
        charge_id = intent.latest_charge.id if intent.latest_charge else None
    if charge_id is not None:
        charge_obj = resources.Charge._api_retrieve(charge_id)
        if charge_obj.amount_refunded >= charge_obj.amount:
            raise UserError(400, f"Charge {charge_id} has already been refunded.",
                            {"code": "charge_already_refunded"})
    _refund_init(self, charge=charge, payment_intent=payment_intent, amount=amount, **kwargs)
    # Stripe tells of every refund, the dashboard's too; localstripe sends no refund events.
    charge_obj = resources.Charge._api_retrieve(self.charge)
    if self.payment_intent is None:
        self.payment_intent = charge_obj.payment_intent
    schedule_webhook(resources.Event("refund.created", self))
    schedule_webhook(resources.Event("charge.refunded", charge_obj))


resources.Refund.__init__ = _refund_checked

_idempotent: dict[str, tuple[int, bytes]] = {}


@web.middleware
async def idempotency(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    if key in _idempotent:
        status, body = _idempotent[key]
        return web.Response(status=status, body=body, content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    try:
        response = await handler(request)
    except UserError as exc:
        response = exc.to_response()
    if response.status < 500:
        _idempotent[key] = (response.status, response.body)
    return response


server.app.middlewares.insert(0, idempotency)


def main() -> None:
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    web.run_app(server.app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
