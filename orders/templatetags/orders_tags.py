from django import template

from integration.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ order.total|money:order.currency }}`` → "$199.00"."""
    if amount is None or not currency:
        return ""
    return format_money(amount, currency)


@register.filter
def percent(rate):
    return f"{(rate * 100).normalize():f} %" if rate else ""
