"""Stripe's webhook events: the source of truth for payment state, each event id handled once.

Events may come twice (the event id is kept for good) or out of order (a
``payment_intent.payment_failed`` after ``succeeded`` changes nothing: a succeeded
payment is final, and :func:`~orders.services.payments.payment_record` only moves
an attempt forward).
"""

from datetime import datetime

from django.db import IntegrityError, transaction

from orders.errors import UnknownPaymentIntent
from orders.gateways.stripe import StripeGateway, intent_answer
from orders.models import Payment, StripeEvent
from orders.services.fulfilment import is_uuid
from orders.services.payments import payment_record

HANDLED = {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.requires_action",
           "payment_intent.processing", "payment_intent.canceled"}


def _payment_for(intent: dict) -> Payment | None:
    payment = Payment.objects.filter(gateway="stripe", intent_id=intent.get("id") or "-").first()
    if payment is None:
        payment_id = (intent.get("metadata") or {}).get("paymentId", "")
        if is_uuid(payment_id):
            payment = Payment.objects.filter(pk=payment_id).first()
    return payment


def stripe_event_handle(*, event: dict, now: datetime) -> dict:
    """Applies one verified event; a repeat answers what the first did."""
    event_id, kind = str(event.get("id", "")), str(event.get("type", ""))
    seen = StripeEvent.objects.filter(event_id=event_id).first()
    if seen is not None:
        return {"received": True, "duplicate": True, "outcome": seen.outcome}
    intent = ((event.get("data") or {}).get("object")) or {}
    if kind not in HANDLED or intent.get("object") not in (None, "payment_intent"):
        outcome = "ignored"
        payment = None
    else:
        payment = _payment_for(intent)
        if payment is None:
            # Not recorded as handled: if our attempt commits later, Stripe's retry finds it.
            raise UnknownPaymentIntent(details={"paymentIntentId": str(intent.get("id", ""))[:64], "eventId": event_id})
        outcome = None
    answer = intent_answer(intent) if payment is not None else None
    if answer is not None and answer.status == "succeeded" and not answer.fee and intent.get("id"):
        # The event names the charge only; the fee is on its balance transaction.
        answer = StripeGateway().retrieve(intent_id=intent["id"])
    try:
        with transaction.atomic():
            if payment is not None:
                order, recorded = payment_record(payment_id=payment.id, answer=answer, now=now,
                                                 source=f"stripe:{kind}")
                outcome = f"payment {recorded.status}, order {order.status}"
            StripeEvent.objects.create(event_id=event_id, type=kind[:64], intent_id=str(intent.get("id", ""))[:255],
                                       outcome=outcome or "ignored", received_at=now)
    except IntegrityError:  # the same event delivered twice at the same moment: the first one did it
        seen = StripeEvent.objects.get(event_id=event_id)
        return {"received": True, "duplicate": True, "outcome": seen.outcome}
    return {"received": True, "outcome": outcome}
