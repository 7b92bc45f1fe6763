"""The list filters of the LMS pages (django-filter): search, status, department and more."""

import django_filters
from django.db.models import Q

from learning.models import (
    Course,
    CourseClass,
    Enrollment,
    EnrollmentSource,
    EnrollmentStatus,
    Membership,
    Program,
    PublishStatus,
    StaffRole,
)


class _DepartmentFilterMixin:
    def filter_department(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(**{f"{name}__path__startswith": value.path})


class EnrollmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=EnrollmentStatus.choices, empty_label="Any status")
    source = django_filters.ChoiceFilter(choices=EnrollmentSource.choices, empty_label="Any source")
    course = django_filters.ModelChoiceFilter(queryset=Course.objects.none(), empty_label="Any course")

    class Meta:
        model = Enrollment
        fields = ["q", "status", "source", "course"]

    def __init__(self, *args, courses=None, **kwargs):
        super().__init__(*args, **kwargs)
        if courses is not None:
            self.filters["course"].queryset = courses

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(user__email__icontains=value) | Q(course__title__icontains=value)
                               | Q(program__title__icontains=value) | Q(commerce_order_id__icontains=value))


class OfferingFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=PublishStatus.choices, empty_label="Any status")

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value)) if value else queryset


class CourseFilter(OfferingFilter):
    class Meta:
        model = Course
        fields = ["q", "status"]


class ProgramFilter(OfferingFilter):
    class Meta:
        model = Program
        fields = ["q", "status"]


class ClassFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=PublishStatus.choices, empty_label="Any status")

    class Meta:
        model = CourseClass
        fields = ["q", "status"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(title__icontains=value) | Q(course__title__icontains=value)) if value else queryset


class MembershipFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="user__email", lookup_expr="icontains", label="Email")
    role = django_filters.ChoiceFilter(choices=StaffRole.choices, empty_label="Any role")

    class Meta:
        model = Membership
        fields = ["q", "role"]
