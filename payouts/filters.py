"""django-filter sets for the ledger and payout lists (API and pages)."""

import django_filters
from django.db.models import Q

from payouts.models import Account, LedgerPosting, Payout, RevenueLedgerEntry
from payouts.selectors import product_ids_named


class LedgerFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(lookup_expr="iexact")
    type = django_filters.ChoiceFilter(choices=RevenueLedgerEntry.Type.choices, empty_label="All")
    account = django_filters.ChoiceFilter(choices=Account.choices, empty_label="All")
    kind = django_filters.ChoiceFilter(field_name="posting__kind", choices=LedgerPosting.Kind.choices, empty_label="All")
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
    status = django_filters.ChoiceFilter(choices=Payout.Status.choices, empty_label="All")
    currency = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Payout
        fields = ["status", "currency"]


class PayoutPageFilter(PayoutFilter):
    """The payouts page's list: the API's filters plus a search by reference or destination."""

    q = django_filters.CharFilter(method="search", label="Search (reference, destination, reason)")
    since = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="From")
    until = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="To")

    class Meta(PayoutFilter.Meta):
        fields = ["q", "status", "currency", "since", "until"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(transfer_id__icontains=value) | Q(destination__icontains=value)
                               | Q(failure_reason__icontains=value))
