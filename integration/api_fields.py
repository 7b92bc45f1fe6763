"""DRF fields shared by the apps' APIs."""

from rest_framework import serializers

from integration.money import quantize


class AmountField(serializers.DecimalField):
    """Money out, as shared/API.md writes it: a decimal string with the currency's minor digits
    ("199.00", "1200" for JPY, "3.250" for KWD). The currency is read from the same object, by
    ``currency_source`` (``"currency"`` unless told)."""

    def __init__(self, *, currency_source: str = "currency", **kwargs):
        self.currency_source = currency_source
        kwargs.setdefault("read_only", True)
        super().__init__(max_digits=19, decimal_places=4, coerce_to_string=True, **kwargs)

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        currency = instance.get(self.currency_source) if isinstance(instance, dict) \
            else getattr(instance, self.currency_source)
        return amount, currency

    def to_representation(self, value):
        amount, currency = value
        return str(quantize(amount, currency))
