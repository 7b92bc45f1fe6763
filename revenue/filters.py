"""List filters (django-filter) for the LMS pages."""

import django_filters
from django.db.models import Q

from revenue.models import ProductType, Recipient, ReleasePolicy, RevenueConfig, RevenueShare, ShareStatus


class EarningsFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=ShareStatus.choices, label="Status")
    recipient = django_filters.ChoiceFilter(choices=Recipient.choices, label="As")
    course = django_filters.CharFilter(field_name="sale__external_id", label="Course or program id")
    waiting = django_filters.BooleanFilter(method="only_waiting", label="Waiting only",
                                           widget=django_filters.widgets.BooleanWidget())

    class Meta:
        model = RevenueShare
        fields = ["q", "status", "recipient", "course", "waiting"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(sale__product_title__icontains=value) | Q(sale__external_id__icontains=value)
                               | Q(sale__order_id__icontains=value))

    def only_waiting(self, queryset, name, value):
        return queryset.filter(status=ShareStatus.HELD) if value else queryset


class ConfigListFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    product_type = django_filters.ChoiceFilter(choices=ProductType.choices, label="Type")
    release_policy = django_filters.ChoiceFilter(choices=ReleasePolicy.choices, label="Release")

    class Meta:
        model = RevenueConfig
        fields = ["q", "product_type", "release_policy"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(external_id__icontains=value) | Q(product_title__icontains=value)
                               | Q(instructor_email__icontains=value) | Q(creator_email__icontains=value))


class HistoryFilter(django_filters.FilterSet):
    release_policy = django_filters.ChoiceFilter(choices=ReleasePolicy.choices, label="Release")
    current = django_filters.BooleanFilter(method="only_current", label="Timeline only (hide superseded)",
                                           widget=django_filters.widgets.BooleanWidget())

    class Meta:
        model = RevenueConfig
        fields = ["release_policy", "current"]

    def only_current(self, queryset, name, value):
        return queryset.filter(superseded_at__isnull=True) if value else queryset
