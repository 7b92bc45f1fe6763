"""``{{ amount|money:currency }}`` on every page: the amount the way people read it, to the currency's
minor unit ("$1,234.50", "¥1,235", "KWD 3.250"); nothing for no amount or no currency."""

from django import template

from integration.money import format_money

register = template.Library()


@register.filter
def money(amount, currency) -> str:
    if amount is None or amount == "" or not currency:
        return ""
    return format_money(amount, currency)
