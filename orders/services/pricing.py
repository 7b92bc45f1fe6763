"""What a cart costs: lines (bundles opened into their items), the coupon's discount and the buyer's tax.

All amounts are ``Decimal`` quantized by ``integration.money``; every split (a bundle's
discount over its items, the order's tax over its lines) uses ``allocate`` so the parts
sum exactly to the whole.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from integration.errors import error_for_code
from integration.money import allocate, quantize
from orders import remote
from orders.errors import CartCurrencyMismatch, CartEmpty, InvalidCountry, ProductNotPurchasable
from orders.models import Cart, TaxRate

ZERO = Decimal("0")


@dataclass(frozen=True)
class PricedLine:
    cart_item_id: int | None
    product_id: str
    bundle_product_id: str
    bundle_name: str
    product_type: str
    external_id: str
    name: str
    unit_price: Decimal
    quantity: int
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    coupon_code: str = ""
    billing_country: str = ""
    tax_name: str = ""
    tax_rate: Decimal = ZERO
    tax_inclusive: bool = False
    items: tuple = field(default_factory=tuple)  # (cart item, ProductInfo) for display

    @property
    def fingerprint(self) -> str:
        import hashlib

        parts = [self.currency, self.coupon_code, self.billing_country, str(self.total)]
        parts += [f"{line.product_id}:{line.external_id}:{line.total}" for line in self.lines]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


def tax_rate_for(country: str) -> TaxRate | None:
    if not country:
        return None
    return TaxRate.objects.filter(country=country.upper(), active=True).first()


def _checked_country(country: str) -> str:
    from django_countries import countries

    country = (country or "").strip().upper()
    # Two ASCII letters first: django-countries' look-up calls int() on a digit-like code ("²" crashed it).
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()
                        and countries.alpha2(country) == country):  # a known alpha-2 code (no dict of every country built)
        raise InvalidCountry(details={"billingCountry": country[:8]})
    return country


def cart_quote(*, cart: Cart, user_id, coupon_code: str | None = None, billing_country: str = "",
               now=None) -> Quote:
    """The cart priced now. Raises for an empty cart, an unpurchasable product or a coupon the catalog refuses."""
    items = list(cart.items.order_by("added_at", "id"))
    if not items:
        raise CartEmpty()
    products = remote.products_get(product_ids=[item.product_id for item in items])
    for item in items:
        product = products.get(item.product_id)
        if product is None:
            raise (error_for_code("product_not_found") or ProductNotPurchasable)(details={"productId": item.product_id})
        if not product.purchasable:
            raise (error_for_code("product_archived") or ProductNotPurchasable)(details={"productId": item.product_id})
    currencies = {products[item.product_id].currency for item in items}
    if len(currencies) > 1:
        raise CartCurrencyMismatch(details={"currencies": sorted(currencies)})
    currency = currencies.pop()
    code = cart.coupon_code if coupon_code is None else coupon_code
    country = _checked_country(billing_country)
    item_amounts = {item.product_id: quantize(products[item.product_id].price * item.quantity, currency)
                    for item in items}
    discounts = {product_id: ZERO for product_id in item_amounts}
    if code:
        coupon = remote.coupon_quote(code=code, user_id=user_id, currency=currency, now=now,
                                     lines=[remote.QuoteLine(product_id=pid, amount=amount)
                                            for pid, amount in item_amounts.items()])
        for product_id, discount in coupon.line_discounts.items():
            if product_id in discounts:
                discounts[product_id] = min(item_amounts[product_id], quantize(discount, currency))
    return _priced(items=items, products=products, currency=currency, item_amounts=item_amounts,
                   discounts=discounts, coupon_code=code, country=country)


def _dearest(amounts) -> int:
    """The index of the largest amount (the first of equals): where a split's rounding remainder goes."""
    return max(range(len(amounts)), key=lambda index: (amounts[index], -index))


def _priced(*, items, products, currency, item_amounts, discounts, coupon_code, country) -> Quote:
    raw = []  # (item, product, part or None, unit_price, quantity, subtotal, discount)
    for item in items:
        product = products[item.product_id]
        if product.is_bundle:
            parts = product.bundle_items
            # A catalog allocation may leave a rounding remainder below zero on a tiny bundle: weights stay >= 0.
            part_prices = [max(ZERO, quantize(part.allocated_price, currency)) for part in parts]
            part_prices = allocate(item_amounts[item.product_id], part_prices, currency)
            # What rounding leaves over goes to the dearest part: the last may cost nothing (a discount above its price).
            part_discounts = allocate(discounts[item.product_id], [max(ZERO, p) for p in part_prices], currency,
                                      remainder_to=_dearest(part_prices))
            for part, price, discount in zip(parts, part_prices, part_discounts, strict=True):
                raw.append((item, product, part, price, 1, price, discount))
        else:
            unit = quantize(product.price, currency)
            raw.append((item, product, None, unit, item.quantity, item_amounts[item.product_id],
                        discounts[item.product_id]))
    rate = tax_rate_for(country)
    taxable = [subtotal - discount for *_, subtotal, discount in raw]
    taxable_total = sum(taxable, ZERO)
    tax_total = ZERO
    if rate is not None and rate.rate > 0 and taxable_total > 0:
        if rate.inclusive:
            tax_total = taxable_total - quantize(taxable_total / (1 + rate.rate), currency)
        else:
            tax_total = quantize(taxable_total * rate.rate, currency)
    line_taxes = allocate(tax_total, [max(ZERO, amount) for amount in taxable], currency) if raw else []
    lines = []
    for (item, product, part, unit, quantity, subtotal, discount), tax in zip(raw, line_taxes, strict=True):
        total = subtotal - discount + (ZERO if rate is not None and rate.inclusive else tax)
        lines.append(PricedLine(
            cart_item_id=item.pk, product_id=part.product_id if part else product.id,
            bundle_product_id=product.id if part else "", bundle_name=product.name if part else "",
            product_type=part.product_type if part else product.type,
            external_id=part.external_id if part else product.external_id, name=part.name if part else product.name,
            unit_price=unit, quantity=quantity, subtotal=subtotal, discount=discount, tax=tax, total=total))
    subtotal = sum((line.subtotal for line in lines), ZERO)
    discount = sum((line.discount for line in lines), ZERO)
    total = sum((line.total for line in lines), ZERO)
    return Quote(currency=currency, lines=tuple(lines), subtotal=subtotal, discount=discount, tax=tax_total,
                 total=total, coupon_code=coupon_code or "", billing_country=country,
                 tax_name=rate.name if rate else "", tax_rate=rate.rate if rate else ZERO,
                 tax_inclusive=bool(rate and rate.inclusive),
                 items=tuple((item, products[item.product_id]) for item in items))
