"""At login, the anonymous session's cart joins the user's."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

SESSION_CART_KEY = "orders_cart_id"


@receiver(user_logged_in, dispatch_uid="orders.cart_merge_at_login")
def merge_cart_at_login(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    cart_id = request.session.pop(SESSION_CART_KEY, None)
    if not cart_id:
        return
    from orders.services.carts import cart_merge

    cart_merge(anonymous_cart_id=cart_id, user_id=user.pk, now=timezone.now())
