"""LMS users and the legacy credentials in the admin. Hashes are never shown, only their algorithm."""

from django.contrib import admin, messages
from django.contrib.auth.hashers import identify_hasher
from django.db.models import Exists, OuterRef
from django.utils import timezone
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from integration.admin import ReadOnlyAdmin
from integration.errors import ApplicationError
from learning.models import (
    Certificate,
    Course,
    CourseClass,
    CourseCompletion,
    CourseStaff,
    Department,
    Enrollment,
    EntitlementLine,
    Exam,
    ExamAttempt,
    Interaction,
    LegacyCredential,
    LegacyHashBackup,
    Lesson,
    LmsUser,
    Membership,
    Program,
    ProgramCourse,
    Question,
)
from learning.services import catalog as catalog_services
from learning.services.enrollments import enrollment_approve, enrollment_reject, enrollment_revoke
from learning.services.memberships import membership_grant, membership_revoke


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
class LegacyHashBackupAdmin(ReadOnlyAdmin):
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


# --- the LMS proper -----------------------------------------------------------

def _run(modeladmin, request, queryset, action, label: str) -> None:
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{label}: {done}.", level=messages.SUCCESS)


@admin.register(Department)
class DepartmentAdmin(TreeAdmin):
    form = movenodeform_factory(Department)
    search_fields = ["name"]
    list_display = ["name", "depth", "created_at"]


class LessonInline(admin.TabularInline):
    model = Lesson
    extra = 0
    fields = ["position", "title", "video_url"]


class CourseStaffInline(admin.TabularInline):
    model = CourseStaff
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "assigned_at"]
    readonly_fields = ["assigned_at"]  # the service sets it (CourseAdmin.save_formset)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "status", "suggested_price", "currency", "requires_approval", "updated_at"]
    list_filter = ["status", "requires_approval", "currency"]
    search_fields = ["title", "=id", "department__name"]
    readonly_fields = ["id", "status", "published_at", "created_at", "updated_at"]
    list_select_related = ["department"]
    inlines = [LessonInline, CourseStaffInline]
    actions = ["publish", "archive"]

    def save_formset(self, request, form, formset, change):
        """Staff rows go through the course service (the person is told by email), the rest as usual."""
        if formset.model is not CourseStaff:
            return super().save_formset(request, form, formset, change)
        rows = formset.save(commit=False)
        for gone in formset.deleted_objects:
            catalog_services.course_staff_remove(course=gone.course, user=gone.user, role=gone.role)
        for row in rows:
            if row.pk is not None:  # a row given to another person or role: the old assignment ends
                old = CourseStaff.objects.select_related("course", "user").get(pk=row.pk)
                catalog_services.course_staff_remove(course=old.course, user=old.user, role=old.role)
            catalog_services.course_staff_assign(course=form.instance, user=row.user, role=row.role,
                                                 now=timezone.now())
        return None

    @admin.action(description="Publish (sends catalog.sync)")
    def publish(self, request, queryset):
        _run(self, request, queryset, lambda c: catalog_services.course_publish(course=c, now=timezone.now()),
             "Published")

    @admin.action(description="Archive (sends catalog.sync archive)")
    def archive(self, request, queryset):
        _run(self, request, queryset, lambda c: catalog_services.course_archive(course=c, now=timezone.now()),
             "Archived")


class ProgramCourseInline(admin.TabularInline):
    model = ProgramCourse
    extra = 0
    raw_id_fields = ["course"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["title", "department", "kind", "status", "suggested_price", "currency"]
    list_filter = ["status", "kind", "requires_approval", "currency"]
    search_fields = ["title", "=id", "department__name"]
    list_select_related = ["department"]
    readonly_fields = ["id", "status", "published_at", "created_at", "updated_at"]
    inlines = [ProgramCourseInline]
    actions = ["publish", "archive"]

    @admin.action(description="Publish (sends catalog.sync)")
    def publish(self, request, queryset):
        _run(self, request, queryset, lambda p: catalog_services.program_publish(program=p, now=timezone.now()),
             "Published")

    @admin.action(description="Archive (sends catalog.sync archive)")
    def archive(self, request, queryset):
        _run(self, request, queryset, lambda p: catalog_services.program_archive(program=p, now=timezone.now()),
             "Archived")


@admin.register(CourseClass)
class CourseClassAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "starts_at", "capacity", "instructor", "status"]
    list_filter = ["status", "starts_at"]
    search_fields = ["title", "course__title", "instructor__email"]
    raw_id_fields = ["course", "instructor"]
    list_select_related = ["course", "instructor"]
    date_hierarchy = "starts_at"


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "pass_mark", "max_attempts"]
    search_fields = ["title", "course__title"]
    raw_id_fields = ["course"]
    list_select_related = ["course"]
    inlines = [QuestionInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role", "granted_at"]
    list_filter = ["role", "granted_at"]
    search_fields = ["user__email", "department__name"]
    raw_id_fields = ["user", "department", "granted_by"]
    list_select_related = ["user", "department"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # revoke and grant instead

    def save_model(self, request, obj, form, change):
        saved = membership_grant(user=obj.user, department=obj.department, role=obj.role,
                                 granted_by=obj.granted_by, now=timezone.now())
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        membership_revoke(membership=obj, now=timezone.now())

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            self.delete_model(request, membership)


@admin.register(CourseStaff)
class CourseStaffAdmin(admin.ModelAdmin):
    """Who teaches or writes which course. Added through the course service (the person is told by email)."""

    list_display = ["user", "course", "role", "assigned_at"]
    list_filter = ["role", "assigned_at"]
    search_fields = ["user__email", "course__title", "=course__id"]
    raw_id_fields = ["user", "course"]
    list_select_related = ["user", "course"]
    fields = ["course", "user", "role"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # remove and add instead

    def save_model(self, request, obj, form, change):
        obj.pk = catalog_services.course_staff_assign(course=obj.course, user=obj.user, role=obj.role,
                                                      now=timezone.now()).pk

    def delete_model(self, request, obj):
        catalog_services.course_staff_remove(course=obj.course, user=obj.user, role=obj.role)

    def delete_queryset(self, request, queryset):
        for staff in queryset.select_related("course", "user"):
            self.delete_model(request, staff)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "program", "status", "source", "commerce_order_id", "granted_at", "expires_at"]
    list_filter = ["status", "source", "granted_at"]
    search_fields = ["user__email", "commerce_order_id", "commerce_order_item_id", "=id", "course__title",
                     "program__title"]
    list_select_related = ["user", "course", "program"]
    readonly_fields = [f.name for f in Enrollment._meta.fields]
    actions = ["approve", "reject", "revoke"]
    date_hierarchy = "granted_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: Commerce and revenue are told, a deleted row tells nobody

    @admin.action(description="Approve (sends enrollment.status)")
    def approve(self, request, queryset):
        _run(self, request, queryset, lambda e: enrollment_approve(enrollment=e, actor=None, now=timezone.now()),
             "Approved")

    @admin.action(description="Reject (sends enrollment.status; the store refunds)")
    def reject(self, request, queryset):
        _run(self, request, queryset,
             lambda e: enrollment_reject(enrollment=e, actor=None, reason="rejected in the admin", now=timezone.now()),
             "Rejected")

    @admin.action(description="Revoke")
    def revoke(self, request, queryset):
        _run(self, request, queryset, lambda e: enrollment_revoke(enrollment=e, now=timezone.now()), "Revoked")


@admin.register(EntitlementLine)
class EntitlementLineAdmin(admin.ModelAdmin):
    list_display = ["line_key", "order_id", "state", "result_status", "enrollment", "created_at"]
    list_filter = ["state", "result_status"]
    search_fields = ["line_key", "order_id", "order_item_id", "commerce_user_id"]
    readonly_fields = [f.name for f in EntitlementLine._meta.fields]
    list_select_related = ["enrollment__user", "enrollment__course", "enrollment__program"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record that Commerce's order line was granted: a repeat grant reads it


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "holder_email", "grade", "issued_at"]
    list_filter = ["issued_at"]
    search_fields = ["code", "holder_email", "title"]
    readonly_fields = [f.name for f in Certificate._meta.fields]
    date_hierarchy = "issued_at"

    def has_add_permission(self, request):
        return False  # issued on completion, never by hand

    def has_delete_permission(self, request, obj=None):
        return False  # its public page verifies it: a certificate stays


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["enrollment", "instructor", "kind", "quantity", "occurred_at"]
    list_filter = ["kind", "occurred_at"]
    search_fields = ["enrollment__user__email", "instructor__email", "enrollment__course__title"]
    raw_id_fields = ["enrollment", "instructor", "recorded_by"]
    list_select_related = ["enrollment__user", "enrollment__course", "enrollment__program", "instructor"]
    date_hierarchy = "occurred_at"


@admin.register(ExamAttempt)
class ExamAttemptAdmin(ReadOnlyAdmin):
    """What learners did: written by the LMS as they learn, read here, never changed by hand."""

    list_display = ["exam", "user", "number", "status", "score_percent", "passed", "submitted_at", "graded_at"]
    list_filter = ["status", "passed", "submitted_at"]
    search_fields = ["user__email", "exam__title", "exam__course__title"]
    list_select_related = ["exam", "user"]
    date_hierarchy = "submitted_at"
    exclude = ["answers", "points"]


@admin.register(CourseCompletion)
class CourseCompletionAdmin(ReadOnlyAdmin):
    list_display = ["user", "course", "grade", "completed_at"]
    list_filter = ["completed_at"]
    search_fields = ["user__email", "course__title"]
    list_select_related = ["user", "course"]
    date_hierarchy = "completed_at"

