"""Whether the header shows the Earnings link: for payees (and anyone with a balance), worked out only if rendered."""

from django.utils.functional import SimpleLazyObject

from payouts import remote
from payouts.models import PayoutBalance


def _shows_earnings(request) -> bool:
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return False
    if PayoutBalance.objects.filter(payee_user_id=str(user.pk)).exists():
        return True
    payee = remote.payee_get(user_id=str(user.pk))
    return bool(payee and "payee" in payee.roles)


def payouts_nav(request):
    return {"SHOW_EARNINGS_LINK": SimpleLazyObject(lambda: _shows_earnings(request))}
