"""Stripe's webhook events: the source of truth for payment state, each event id handled once.

Events may come twice (the event id is kept for good) or out of order (a
``payment_intent.payment_failed`` after ``succeeded`` changes nothing: a succeeded
payment is final, and :func:`~orders.services.payments.payment_record` only moves
an attempt forward).

Refunds made outside the store (Stripe's dashboard) arrive as ``refund.created`` /
``refund.updated`` (the refund) and ``charge.refunded`` (the charge; its refunds are
listed from Stripe). Each succeeded refund is recorded once by its Stripe id
(:func:`~orders.services.refunds.refund_record_external`): one the store made itself is
already recorded under that id, and whichever event comes first records a dashboard one.
"""

from datetime import datetime

from django.db import IntegrityError, transaction

from orders.errors import UnknownPaymentIntent
from orders.gateways.stripe import StripeGateway, from_minor, intent_answer
from orders.models import Payment, StripeEvent
from orders.services.fulfilment import is_uuid
from orders.services.payments import payment_record
from orders.services.refunds import refund_record_external

INTENT_EVENTS = {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.requires_action",
                 "payment_intent.processing", "payment_intent.canceled"}
REFUND_EVENTS = {"refund.created", "refund.updated", "charge.refund.updated"}
CHARGE_EVENTS = {"charge.refunded"}
HANDLED = INTENT_EVENTS | REFUND_EVENTS | CHARGE_EVENTS


def _payment_for(intent: dict) -> Payment | None:
    payment = Payment.objects.filter(gateway="stripe", intent_id=intent.get("id") or "-").first()
    if payment is None:
        payment_id = (intent.get("metadata") or {}).get("paymentId", "")
        if is_uuid(payment_id):
            payment = Payment.objects.filter(pk=payment_id).first()
    return payment


def _payment_charged(*, intent_id, charge_id) -> Payment | None:
    """Our succeeded payment behind a charge (by its intent, else by the charge id we stored)."""
    succeeded = Payment.objects.filter(gateway="stripe", status=Payment.Status.SUCCEEDED)
    if intent_id:
        payment = succeeded.filter(intent_id=intent_id).first()
        if payment is not None:
            return payment
    return succeeded.filter(transaction_id=charge_id).first() if charge_id else None


def _object_id(value) -> str:
    return str(value.get("id", "") if isinstance(value, dict) else value or "")


def _refunds_outcome(*, refunds: list[dict], intent_id: str, charge_id: str, kind: str, now: datetime) -> str:
    payment = _payment_charged(intent_id=intent_id, charge_id=charge_id)
    if payment is None:
        # Not recorded as handled: a payment whose success is still being recorded may match on Stripe's retry.
        raise UnknownPaymentIntent(details={"paymentIntentId": intent_id[:64], "chargeId": charge_id[:64]})
    outcomes = []
    for refund in refunds:
        refund_id = str(refund.get("id", ""))
        if not refund_id or refund.get("status") != "succeeded":
            outcomes.append(f"{refund_id or 'refund'} {refund.get('status') or 'without status'}: nothing recorded")
            continue
        amount = from_minor(int(refund.get("amount") or 0), str(refund.get("currency") or payment.currency))
        outcomes.append(refund_record_external(payment=payment, gateway_refund_id=refund_id, amount=amount,
                                               now=now, source=f"stripe:{kind}"))
    return "; ".join(outcomes)[:255] or "no refunds"


def _refunds_in(*, kind: str, obj: dict) -> dict:
    """The refunds an event is about, with the intent and charge they belong to (asked of Stripe if needed)."""
    if kind in CHARGE_EVENTS:
        charge_id = str(obj.get("id", ""))
        listed = obj.get("refunds")
        refunds = list(listed["data"]) if isinstance(listed, dict) and listed.get("data") is not None \
            else StripeGateway().charge_refunds(charge_id=charge_id)
        return {"refunds": refunds, "intent_id": _object_id(obj.get("payment_intent")), "charge_id": charge_id}
    return {"refunds": [obj], "intent_id": _object_id(obj.get("payment_intent")),
            "charge_id": _object_id(obj.get("charge"))}


def stripe_event_handle(*, event: dict, now: datetime) -> dict:
    """Applies one verified event; a repeat answers what the first did."""
    event_id, kind = str(event.get("id", "")), str(event.get("type", ""))
    seen = StripeEvent.objects.filter(event_id=event_id).first()
    if seen is not None:
        return {"received": True, "duplicate": True, "outcome": seen.outcome}
    obj = ((event.get("data") or {}).get("object")) or {}
    payment, answer, outcome, refunds = None, None, None, None
    if kind in INTENT_EVENTS and obj.get("object") in (None, "payment_intent"):
        payment = _payment_for(obj)
        if payment is None:
            # Not recorded as handled: if our attempt commits later, Stripe's retry finds it.
            raise UnknownPaymentIntent(details={"paymentIntentId": str(obj.get("id", ""))[:64], "eventId": event_id})
        answer = intent_answer(obj)
        if answer.status == "succeeded" and not answer.fee and obj.get("id"):
            # The event names the charge only; the fee is on its balance transaction.
            answer = StripeGateway().retrieve(intent_id=obj["id"])
    elif kind in REFUND_EVENTS | CHARGE_EVENTS and obj.get("object") in ("refund", "charge"):
        refunds = _refunds_in(kind=kind, obj=obj)  # before the transaction: it may ask Stripe
    else:
        outcome = "ignored"
    try:
        with transaction.atomic():
            if payment is not None:
                order, recorded = payment_record(payment_id=payment.id, answer=answer, now=now,
                                                 source=f"stripe:{kind}")
                outcome = f"payment {recorded.status}, order {order.status}"
            elif outcome is None:
                outcome = _refunds_outcome(**refunds, kind=kind, now=now)
            intent_id = refunds["intent_id"] if refunds else str(obj.get("id", ""))
            StripeEvent.objects.create(event_id=event_id, type=kind[:64], intent_id=intent_id[:255],
                                       outcome=outcome or "ignored", received_at=now)
    except IntegrityError:  # the same event delivered twice at the same moment: the first one did it
        seen = StripeEvent.objects.filter(event_id=event_id).first()
        if seen is None:
            raise
        return {"received": True, "duplicate": True, "outcome": seen.outcome}
    return {"received": True, "outcome": outcome}
