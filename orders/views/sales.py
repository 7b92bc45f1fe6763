"""The commerce-admin's sales overview: gross sales, refunds and net per day for a period and currency (a chart),
and per product (a searchable, paginated table).

Commerce-admins only, as the rest of the orders admin: the orders app's permissions come with the role
(``identity.backends.CommerceAdminPermissionBackend``); a signed-in buyer gets a 403, a visitor the login page.
Amounts are summed in SQL (``orders.selectors``) and reach the chart as decimal strings.
"""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from integration.money import quantize
from orders.selectors import sales_by_day, sales_by_product, sales_currencies

SALES_PERMISSION = "orders.view_order"  # every order of every buyer: the commerce-admin's (and superusers')
DEFAULT_DAYS = 30
MAX_DAYS = 366
PAGE_SIZE = 20


class SalesFilterForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    currency = forms.CharField(label="Currency", required=False, max_length=3)
    q = forms.CharField(label="Product", required=False, max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name contains"}))

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if currency and (len(currency) != 3 or not currency.isascii() or not currency.isalpha()):
            raise forms.ValidationError("A currency is three letters, e.g. USD.")
        return currency

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The period's first day comes after its last.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"A period is at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data


def _chart(days, currency: str) -> dict:
    """What Chart.js draws: a label per day and decimal strings to the currency's minor unit."""
    def amounts(values):
        return [str(quantize(value, currency)) for value in values]

    return {"currency": currency, "labels": [day.day.isoformat() for day in days],
            "series": [{"label": f"Gross ({currency})", "values": amounts(day.gross for day in days), "kind": "gross"},
                       {"label": f"Refunds ({currency})", "values": amounts(day.refunded for day in days),
                        "kind": "refunds"},
                       {"label": f"Net ({currency})", "values": amounts(day.net for day in days), "kind": "net",
                        "type": "line"}]}


@require_GET
@never_cache
@login_required
def sales_overview(request):
    if not request.user.has_perm(SALES_PERMISSION):
        raise PermissionDenied
    form = SalesFilterForm(request.GET)  # bound even when empty: the defaults are the last 30 days
    if not form.is_valid():
        return render(request, "orders/sales.html", {"form": form}, status=400)
    data = form.cleaned_data
    start, end = data["start"], data["end"]
    currencies = sales_currencies(start=start, end=end)
    currency = data["currency"] or (currencies[0] if currencies else "")
    context = {"form": form, "start": start, "end": end, "currency": currency, "currencies": currencies,
               "search": data["q"]}
    if currency:
        days = sales_by_day(start=start, end=end, currency=currency)
        gross, refunded = sum((day.gross for day in days), Decimal(0)), sum((day.refunded for day in days), Decimal(0))
        context["totals"] = {"gross": gross, "refunded": refunded, "net": gross - refunded}
        if any(day.gross or day.refunded for day in days):
            context["chart"] = _chart(days, currency)
        products = sales_by_product(start=start, end=end, currency=currency, search=data["q"].strip())
        context["page"] = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context["query"] = query.urlencode()
    return render(request, "orders/sales.html", context)
