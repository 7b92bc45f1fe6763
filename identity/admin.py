"""Admin for users, roles (changes go through the role service, so they are audited), the audit log
(read-only), service clients, token families and the identity migration phase."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.hashers import make_password
from django.db.models import Exists, OuterRef
from django.utils.html import format_html_join

from identity.models import (
    SERVICE_SCOPES,
    STORED_ROLES,
    IdentityPhase,
    IdentityPhaseChange,
    LmsAccountLink,
    RoleAuditLog,
    ServiceClient,
    TokenFamily,
    User,
    UserRole,
)
from identity.services.roles import actor_for_user, role_grant, role_revoke
from identity.services.tokens import family_revoke


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoleFilter(admin.SimpleListFilter):
    title = "commerce role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("purchaser-only", "Purchaser only"), *((r.value, r.label) for r in STORED_ROLES)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "purchaser-only":
            return queryset.exclude(Exists(UserRole.objects.filter(user=OuterRef("pk"))))
        if value in {r.value for r in STORED_ROLES}:
            return queryset.filter(Exists(UserRole.objects.filter(user=OuterRef("pk"), role=value)))
        return queryset


class UserRoleInline(admin.TabularInline):
    model = UserRole
    extra = 0
    fields = ("role", "granted_at", "granted_by")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("email", "is_active", "roles", "date_joined", "last_login", "erased_at")
    list_filter = (RoleFilter, "is_active", "is_superuser", ("date_joined", admin.DateFieldListFilter))
    search_fields = ("email", "=id")
    ordering = ("-date_joined",)
    date_hierarchy = "date_joined"
    inlines = [UserRoleInline]
    readonly_fields = ("id", "email", "date_joined", "last_login", "erased_at", "updated_at")
    actions = ["grant_payee", "revoke_payee"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("commerce_roles")

    @admin.display(description="roles")
    def roles(self, user) -> str:
        return ", ".join(["purchaser", *sorted(role.role for role in user.commerce_roles.all())])

    def get_fields(self, request, obj=None):
        fields = ["id", "email", "is_active", "date_joined", "last_login", "erased_at", "updated_at"]
        if request.user.is_superuser:
            fields += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return fields

    def has_add_permission(self, request):
        return False  # people sign up; commands and seeds create the rest

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are erased (identity.services.accounts.user_erase), never deleted

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def _change_roles(self, request, queryset, *, grant: bool, role: str):
        change = role_grant if grant else role_revoke
        for user in queryset:
            change(user_id=user.pk, role=role, reason=f"{'granted' if grant else 'revoked'} in the admin",
                   actor=actor_for_user(request.user))
        self.message_user(request, f"{role} {'granted to' if grant else 'revoked from'} {queryset.count()} user(s).",
                          messages.SUCCESS)

    @admin.action(description="Grant the payee role", permissions=["change"])
    def grant_payee(self, request, queryset):
        self._change_roles(request, queryset.filter(is_active=True), grant=True, role="payee")

    @admin.action(description="Revoke the payee role", permissions=["change"])
    def revoke_payee(self, request, queryset):
        self._change_roles(request, queryset, grant=False, role="payee")


class UserRoleForm(forms.ModelForm):
    reason = forms.CharField(max_length=1000, help_text="Written to the role audit log.")

    class Meta:
        model = UserRole
        fields = ("user", "role")

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user")
        if user is not None and not user.is_active:
            self.add_error("user", "This account is not active, so it cannot receive a role.")
        return cleaned


@admin.register(UserRole)
class UserRoleAdmin(admin.ModelAdmin):
    form = UserRoleForm
    list_display = ("user", "role", "granted_at", "granted_by")
    list_filter = ("role", ("granted_at", admin.DateFieldListFilter))
    search_fields = ("user__email",)
    autocomplete_fields = ("user",)
    list_select_related = ("user",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        result = role_grant(user_id=obj.user_id, role=obj.role, reason=form.cleaned_data["reason"],
                            actor=actor_for_user(request.user))
        obj.pk = UserRole.objects.filter(user_id=obj.user_id, role=obj.role).values_list("pk", flat=True).first()
        if not result.changed:
            self.message_user(request, "The user already had that role.", messages.INFO)

    def delete_model(self, request, obj):
        role_revoke(user_id=obj.user_id, role=obj.role, reason="revoked in the admin", actor=actor_for_user(request.user))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(RoleAuditLog)
class RoleAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "role", "user_id", "actor", "changed", "reason")
    list_filter = ("action", "role", "changed", ("created_at", admin.DateFieldListFilter))
    search_fields = ("=user_id", "actor", "reason")
    date_hierarchy = "created_at"


class ServiceClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in SERVICE_SCOPES], widget=forms.CheckboxSelectMultiple,
                                       required=False)
    new_secret = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False),
                                 help_text="Stored hashed. Leave empty to keep the current secret.")

    class Meta:
        model = ServiceClient
        fields = ("client_id", "description", "scopes", "is_active")

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("new_secret"):
            self.add_error("new_secret", "A new client needs a secret.")
        return cleaned


@admin.register(ServiceClient)
class ServiceClientAdmin(admin.ModelAdmin):
    form = ServiceClientForm
    list_display = ("client_id", "is_active", "scope_list", "last_token_at", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("client_id", "description")
    readonly_fields = ("created_at", "updated_at", "last_token_at")

    @admin.display(description="scopes")
    def scope_list(self, client) -> str:
        return " ".join(client.scopes)

    def save_model(self, request, obj, form, change):
        obj.scopes = sorted(form.cleaned_data.get("scopes") or [])
        if form.cleaned_data.get("new_secret"):
            obj.secret_hash = make_password(form.cleaned_data["new_secret"])
        super().save_model(request, obj, form, change)


@admin.register(TokenFamily)
class TokenFamilyAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "kind", "created_at", "absolute_expires_at", "revoked_at", "revoke_reason")
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("user__email", "=id")
    list_select_related = ("user",)
    actions = ["revoke"]

    @admin.action(description="Revoke (ends every token of these sign-ins)")
    def revoke(self, request, queryset):
        count = sum(family_revoke(family_id=family.pk, reason="admin") for family in queryset)
        self.message_user(request, f"{count} token famil{'y' if count == 1 else 'ies'} revoked.", messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_superuser or request.user.has_perm("identity.change_tokenfamily")):
            actions.pop("revoke", None)
        return actions


@admin.register(IdentityPhase)
class IdentityPhaseAdmin(ReadOnlyAdmin):
    """Shown here, changed with ``manage.py identity_phase N`` (which checks the preconditions)."""

    list_display = ("phase", "updated_at")
    readonly_fields = ("phase", "updated_at", "history")
    fields = ("phase", "updated_at", "history")

    @admin.display(description="history")
    def history(self, obj) -> str:
        rows = IdentityPhaseChange.objects.order_by("-changed_at")[:50]
        if not rows:
            return "(no changes yet)"
        return format_html_join("", "{} UTC: {} → {} by {}: {}<br>", (
            (f"{row.changed_at:%Y-%m-%d %H:%M}", row.from_phase, row.to_phase, row.changed_by, row.reason)
            for row in rows))


@admin.register(IdentityPhaseChange)
class IdentityPhaseChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "from_phase", "to_phase", "changed_by", "reason")


@admin.register(LmsAccountLink)
class LmsAccountLinkAdmin(ReadOnlyAdmin):
    list_display = ("lms_user_id", "user", "created_user", "linked_at")
    search_fields = ("lms_user_id", "user__email")
    list_select_related = ("user",)


def _unregister_unused_simplejwt_models() -> None:
    """simplejwt's outstanding/blacklisted tokens are not used: token families replace them."""
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    for model in (OutstandingToken, BlacklistedToken):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_unused_simplejwt_models()
