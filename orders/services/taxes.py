"""Tax rates by the buyer's country (django-countries codes)."""

from decimal import Decimal

from django.db import transaction

from orders.errors import InvalidCountry
from orders.models import TaxRate


@transaction.atomic
def tax_rate_upsert(*, country: str, name: str, rate: Decimal, inclusive: bool, active: bool = True) -> TaxRate:
    from django_countries import countries

    code = (country or "").upper()
    if code not in dict(countries):
        raise InvalidCountry(details={"country": country})
    tax_rate, _ = TaxRate.objects.update_or_create(country=code, defaults={
        "name": name, "rate": rate, "inclusive": inclusive, "active": active})
    return tax_rate


@transaction.atomic
def tax_rate_set_active(*, rate_ids: list[int], active: bool) -> int:
    return TaxRate.objects.filter(pk__in=rate_ids).update(active=active)
