from django import template

register = template.Library()


@register.filter
def percent(rate):
    return f"{(rate * 100).normalize():f} %" if rate else ""


@register.filter
def status_label(order):
    """The order's status in the buyer's words: a paid order says what it is waiting for (from its lines,
    which the list prefetches)."""
    from orders.models import EntitlementStatus, OrderStatus

    if order.status != OrderStatus.PAID:
        return order.get_status_display()
    states = {line.entitlement_status for line in order.lines.all()}
    if EntitlementStatus.PENDING in states:
        return "Paid, enrolling"
    if EntitlementStatus.PENDING_APPROVAL in states:
        return "Paid, waiting for approval"
    return "Paid"
