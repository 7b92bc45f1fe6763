from django import template

from payouts.models import Account

register = template.Library()


@register.filter
def product_name(product_id, names):
    """The course's name from ``names`` (``selectors.product_names``), else its id; "—" for no course."""
    if not product_id:
        return "—"
    return (names or {}).get(product_id) or product_id


@register.filter
def reason_label(reason):
    """A ledger leg's reason for people: "instructor_share" reads "instructor share"."""
    return (reason or "").replace("_", " ")


@register.filter
def account_label(account):
    """A ledger account for people ("payee_available" reads "Payee: available")."""
    try:
        return Account(account).label
    except ValueError:
        return account
