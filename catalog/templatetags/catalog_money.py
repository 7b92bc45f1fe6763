from django import template

from integration.money import format_money

register = template.Library()


@register.simple_tag
def money(amount, currency: str) -> str:
    """``{% money product.price product.currency %}`` → "$199.00", "¥1,200", "KWD 3.250"."""
    return format_money(amount, currency)
