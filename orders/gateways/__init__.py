"""Which payment gateway this deployment uses: Stripe when ``STRIPE_SECRET_KEY`` is set, else the test gateway."""

from django.conf import settings

from orders.gateways.base import PaymentGateway


def gateway_name() -> str:
    return "stripe" if settings.STRIPE_SECRET_KEY else "test"


def get_gateway(name: str | None = None) -> PaymentGateway:
    name = name or gateway_name()
    if name == "stripe":
        from orders.gateways.stripe import StripeGateway

        return StripeGateway()
    from orders.gateways.test import TestGateway

    return TestGateway()
