"""LMS users and the legacy credentials in the admin. Hashes are never shown, only their algorithm."""

from django.contrib import admin
from django.contrib.auth.hashers import identify_hasher
from django.db.models import Exists, OuterRef

from learning.models import LegacyCredential, LegacyHashBackup, LmsUser


def _algorithm(encoded: str) -> str:
    try:
        return identify_hasher(encoded).algorithm
    except ValueError:
        return "unknown"


class LinkedFilter(admin.SimpleListFilter):
    title = "Commerce identity"
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", "Linked"), ("no", "Not linked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(commerce_user_id__isnull=False)
        if self.value() == "no":
            return queryset.filter(commerce_user_id__isnull=True)
        return queryset


class LegacyPasswordFilter(admin.SimpleListFilter):
    title = "legacy password"
    parameter_name = "legacy_password"

    def lookups(self, request, model_admin):
        return [("yes", "Still in the LMS"), ("no", "None")]

    def queryset(self, request, queryset):
        has = Exists(LegacyCredential.objects.filter(lms_user_id=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has)
        if self.value() == "no":
            return queryset.filter(~has)
        return queryset


class LegacyCredentialInline(admin.StackedInline):
    model = LegacyCredential
    can_delete = False
    extra = 0
    max_num = 0
    fields = ["algorithm", "imported_at", "source_created_at"]
    readonly_fields = fields

    @admin.display(description="hash algorithm")
    def algorithm(self, obj):
        return _algorithm(obj.password_hash)


@admin.register(LmsUser)
class LmsUserAdmin(admin.ModelAdmin):
    list_display = ["email", "commerce_user_id", "user_types", "is_active", "created_at"]
    list_filter = ["is_active", LinkedFilter, LegacyPasswordFilter, "created_at"]
    search_fields = ["email", "commerce_user_id", "=id"]
    readonly_fields = ["id", "commerce_user_id", "created_at", "updated_at"]
    fields = ["id", "email", "commerce_user_id", "user_types", "is_active", "created_at", "updated_at"]
    inlines = [LegacyCredentialInline]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(LegacyHashBackup)
class LegacyHashBackupAdmin(admin.ModelAdmin):
    """Read-only: backups are written by migrate_lms_identities and used by rollback_identity_phase."""

    list_display = ["email", "lms_user_id", "batch_id", "backed_up_at", "restored_at"]
    list_filter = [("restored_at", admin.EmptyFieldListFilter), "backed_up_at"]
    search_fields = ["email", "=batch_id", "=lms_user__id", "lms_user__commerce_user_id"]
    fields = ["lms_user", "email", "algorithm", "batch_id", "source_created_at", "backed_up_at", "restored_at"]
    readonly_fields = fields
    list_select_related = ["lms_user"]

    @admin.display(description="hash algorithm")
    def algorithm(self, obj):
        return _algorithm(obj.password_hash)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
