"""The API's password reset and verification-email resend, limited per email exactly as the pages are.

The pages count with allauth's rate limits (``ACCOUNT_RATE_LIMITS``: ``reset_password``
per address and per email, ``confirm_email`` per email); these views consume the same
limits under the same keys, so the API and the pages share one count. A reset over the
limit answers 429 (as the page does) whether or not the email has an account; a resend
over the limit sends nothing and answers as usual (as the page does).
"""

from allauth.account import app_settings as account_settings
from allauth.core import ratelimit
from dj_rest_auth.registration.views import ResendEmailVerificationView
from dj_rest_auth.views import PasswordResetView
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.response import Response

from identity.api.serializers import DetailOutput
from integration.contracts.base import ErrorSerializer
from integration.errors import ThrottledError

# Both answer 200 {"detail"} whether or not the email has an account (nothing to probe accounts with).
ANSWERS = {200: DetailOutput, 400: ErrorSerializer, 429: ErrorSerializer}


def _email_of(request) -> str:
    email = request.data.get("email", "") if hasattr(request.data, "get") else ""
    return str(email).strip().lower()


def _period_seconds(action: str) -> int:
    """The longest window of an action's configured rates (the wait a refused caller is told)."""
    from allauth.core.internal.ratelimit import parse_rates

    rates = parse_rates(account_settings.RATE_LIMITS.get(action))
    return max((int(rate.duration) for rate in rates), default=60)


@extend_schema_view(post=extend_schema(responses=ANSWERS))
class PasswordResetApi(PasswordResetView):
    def post(self, request, *args, **kwargs):
        email = _email_of(request)
        if email and not ratelimit.consume(request, action="reset_password", key=email):
            raise ThrottledError("Too many password reset requests; try again later.",
                                 details={"retryAfterSeconds": _period_seconds("reset_password")})
        return super().post(request, *args, **kwargs)


@extend_schema_view(post=extend_schema(responses=ANSWERS))
class ResendEmailVerificationApi(ResendEmailVerificationView):
    def create(self, request, *args, **kwargs):
        email = _email_of(request)
        if email and not ratelimit.consume(request, action="confirm_email", key=email):
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            return Response({"detail": "ok"})
        return super().create(request, *args, **kwargs)
