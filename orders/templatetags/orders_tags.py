from django import template

register = template.Library()


@register.filter
def percent(rate):
    return f"{(rate * 100).normalize():f} %" if rate else ""
