"""``{{ amount|money:currency }}`` on the LMS pages: the currency's minor unit (USD 2, JPY 0, KWD 3)."""

from django import template

from integration.money import format_money

register = template.Library()


@register.filter
def money(amount, currency):
    if amount is None:
        return ""
    return format_money(amount, currency)
