from django import template

from integration.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """``amount`` in ``currency`` the way people read it ($1,234.50, ¥1,235)."""
    if amount is None:
        return ""
    return format_money(amount, currency)
