"""Admin for users, roles (changes go through the role service, so they are audited), the audit log
(read-only), service clients, token families and the identity migration phase."""

from django import forms
from django.contrib import admin, messages
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
    ServiceClientAuditLog,
    TokenFamily,
    User,
    UserRole,
)
from identity.services.roles import actor_for_user, role_grant, role_revoke
from identity.services.service_clients import service_client_upsert
from identity.services.tokens import family_revoke
from integration.admin import ReadOnlyAdmin


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


def may_change_account(actor, target) -> bool:
    """Superuser and staff accounts (their roles included) are changed by superusers only."""
    return bool(actor.is_superuser or not (target.is_superuser or target.is_staff))


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
        if obj is not None and not may_change_account(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def _change_roles(self, request, queryset, *, grant: bool, role: str):
        change = role_grant if grant else role_revoke
        if not request.user.is_superuser:
            queryset = queryset.filter(is_superuser=False, is_staff=False)
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
    actor = None  # the admin user, set by UserRoleAdmin.get_form

    class Meta:
        model = UserRole
        fields = ("user", "role")

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("user")
        if user is not None and not user.is_active:
            self.add_error("user", "This account is not active, so it cannot receive a role.")
        if user is not None and self.actor is not None and not may_change_account(self.actor, user):
            self.add_error("user", "Only a superuser can change the roles of a staff or superuser account.")
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

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not may_change_account(request.user, obj.user):
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        result = role_grant(user_id=obj.user_id, role=obj.role, reason=form.cleaned_data["reason"],
                            actor=actor_for_user(request.user))
        obj.pk = UserRole.objects.filter(user_id=obj.user_id, role=obj.role).values_list("pk", flat=True).first()
        if not result.changed:
            self.message_user(request, "The user already had that role.", messages.INFO)

    def delete_model(self, request, obj):
        role_revoke(user_id=obj.user_id, role=obj.role, reason="revoked in the admin", actor=actor_for_user(request.user))

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("user"):
            if may_change_account(request.user, obj.user):
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
                                 help_text="Stored hashed. Leave empty to keep the current secret (a new client "
                                           "without one gets a generated secret, shown once).")
    reason = forms.CharField(max_length=1000, help_text="Written to the service-client audit log.")

    class Meta:
        model = ServiceClient
        fields = ("client_id", "description", "scopes", "is_active")


@admin.register(ServiceClient)
class ServiceClientAdmin(admin.ModelAdmin):
    """Superusers only (not in the commerce-admin role). Every save goes through
    ``service_client_upsert``: hashed secret, audit row, cached state dropped."""

    form = ServiceClientForm
    list_display = ("client_id", "is_active", "scope_list", "last_token_at", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("client_id", "description")
    readonly_fields = ("created_at", "updated_at", "last_token_at", "secret_changed_at")

    @admin.display(description="scopes")
    def scope_list(self, client) -> str:
        return " ".join(client.scopes)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "client_id") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: the audit log keeps the history

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        upsert = service_client_upsert(
            client_id=obj.client_id, scopes=list(data.get("scopes") or []), secret=data.get("new_secret") or None,
            generate_secret=not change and not data.get("new_secret"), description=data.get("description", ""),
            is_active=bool(data.get("is_active")), actor=actor_for_user(request.user), reason=data["reason"])
        obj.pk = upsert.client.pk
        if upsert.generated_secret:
            self.message_user(request, f"Secret for {obj.client_id} (shown this once, stored hashed): "
                                       f"{upsert.generated_secret}", messages.WARNING)


@admin.register(ServiceClientAuditLog)
class ServiceClientAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "client_id", "action", "actor", "reason")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("client_id", "actor", "reason")
    date_hierarchy = "created_at"


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


class AuthenticatorAdmin(ReadOnlyAdmin):
    """MFA devices: which and when, never their secrets (stored encrypted, identity.adapter.MfaAdapter)."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    search_fields = ("user__email",)
    fields = ("user", "type", "created_at", "last_used_at")
    list_select_related = ("user",)


def third_party_admins_replace() -> None:
    """Called from ``IdentityConfig.ready()``, after the admin's autodiscovery (identity precedes those
    apps in INSTALLED_APPS, so its admin module is imported before theirs). simplejwt's outstanding/blacklisted tokens are not used (token families replace them), nor are
    social accounts or DRF's auth tokens; allauth's MFA admin would show TOTP secrets."""
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
    from rest_framework.authtoken.models import TokenProxy
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    for model in (OutstandingToken, BlacklistedToken, SocialAccount, SocialApp, SocialToken, TokenProxy,
                  Authenticator):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
    admin.site.register(Authenticator, AuthenticatorAdmin)
