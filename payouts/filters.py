"""django-filter sets for the ledger and payout lists (API and pages)."""

import django_filters
from django.db.models import Q

from payouts.models import Account, LedgerPosting, Payout, RevenueLedgerEntry
from payouts.selectors import product_ids_named


class LedgerFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(lookup_expr="iexact")
    type = django_filters.ChoiceFilter(choices=RevenueLedgerEntry.Type.choices)
    account = django_filters.ChoiceFilter(choices=Account.choices)
    kind = django_filters.ChoiceFilter(field_name="posting__kind", choices=LedgerPosting.Kind.choices)
    q = django_filters.CharFilter(method="search", label="Search (course, event, order)")
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="From")
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="To")

    class Meta:
        model = RevenueLedgerEntry
        fields = ["currency", "type", "account", "kind"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(event_id__icontains=value) | Q(order_id__icontains=value)
                               | Q(product_id__icontains=value) | Q(reason__icontains=value)
                               | Q(product_id__in=product_ids_named(search=value))) if value else queryset


class PayoutFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Payout.Status.choices)
    currency = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Payout
        fields = ["status", "currency"]
