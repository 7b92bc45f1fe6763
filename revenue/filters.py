"""List filters (django-filter) for the LMS pages."""

import django_filters
from django.db.models import Q

from revenue.models import ProductType, Recipient, ReleasePolicy, RevenueConfig, RevenueShare, ShareStatus


class EarningsFilter(django_filters.FilterSet):
    """A payee's shares. ``courses`` ((external id, title) pairs) lists the payee's own courses by name."""

    WAITING_CHOICES = (("yes", "Waiting"), ("no", "Not waiting"))

    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=ShareStatus.choices, label="Status", empty_label="All")
    recipient = django_filters.ChoiceFilter(choices=Recipient.choices, label="As", empty_label="All")
    course = django_filters.ChoiceFilter(field_name="sale__external_id", label="Course or program", choices=(),
                                         empty_label="All")
    waiting = django_filters.ChoiceFilter(method="only_waiting", label="Waiting", choices=WAITING_CHOICES,
                                          empty_label="All")

    class Meta:
        model = RevenueShare
        fields = ["q", "status", "recipient", "course", "waiting"]

    def __init__(self, *args, courses: list[tuple[str, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["course"].extra["choices"] = list(courses)

    def search(self, queryset, name, value):
        return queryset.filter(Q(sale__product_title__icontains=value) | Q(sale__external_id__icontains=value)
                               | Q(sale__order_id__icontains=value))

    def only_waiting(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(status=ShareStatus.HELD)
        if value == "no":
            return queryset.exclude(status=ShareStatus.HELD)
        return queryset


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
