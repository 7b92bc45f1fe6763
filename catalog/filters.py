"""The storefront's product filters (page and API alike): ``type``, ``q``, ``departmentId``."""

import django_filters
from django.db.models import Q

from catalog.models import Product, ProductType


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", max_length=200)
    type = django_filters.ChoiceFilter(choices=ProductType.choices, label="Type", empty_label="All types")
    departmentId = django_filters.CharFilter(field_name="department_id", label="Department", max_length=255)

    class Meta:
        model = Product
        fields = ["q", "type", "departmentId"]

    def search(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
