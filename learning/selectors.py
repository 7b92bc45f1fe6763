"""Reads: LMS users, the SSO look-up (spec 6.2.1) and the legacy-account report."""

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from integration import ports
from integration.errors import ApplicationError
from learning.models import LegacyCredential, LegacyHashBackup, LmsUser

IDENTITY_PHASE_CACHE_KEY = "learning:identity-phase"
IDENTITY_PHASE_UNKNOWN_CACHE_KEY = "learning:identity-phase-unknown"
# Short enough that a phase change (or a rollback) reaches every LMS process within seconds,
# long enough that a busy SSO page does not ask identity on every request.
IDENTITY_PHASE_CACHE_SECONDS = 10


def identity_phase_cached() -> int:
    """The identity migration phase (1, 2 or 3), asked of identity at most every ten seconds."""
    phase = cache.get(IDENTITY_PHASE_CACHE_KEY)
    if phase is None:
        phase = ports.identity_phase()
        cache.set(IDENTITY_PHASE_CACHE_KEY, phase, IDENTITY_PHASE_CACHE_SECONDS)
    return phase


def identity_phase_if_known() -> int | None:
    """The phase for things that can do without it (a notice on a page); ``None`` while identity does not answer.

    A failure is remembered for the same ten seconds, so a page shown while the store is
    down does not wait for the port's timeout on every request.
    """
    if cache.get(IDENTITY_PHASE_UNKNOWN_CACHE_KEY):
        return None
    try:
        return identity_phase_cached()
    except ApplicationError:
        cache.set(IDENTITY_PHASE_UNKNOWN_CACHE_KEY, True, IDENTITY_PHASE_CACHE_SECONDS)
        return None


def identity_phase_forget() -> None:
    cache.delete_many([IDENTITY_PHASE_CACHE_KEY, IDENTITY_PHASE_UNKNOWN_CACHE_KEY])


def lms_user_get(*, lms_user_id) -> LmsUser | None:
    return LmsUser.objects.filter(pk=lms_user_id).first()


def sso_user_lookup(*, commerce_user_id: str) -> dict:
    """Spec 6.2.1 ``SSOUserResponse`` for one Commerce user id."""
    user = (LmsUser.objects.filter(commerce_user_id=commerce_user_id)
            .only("id", "user_types").first())
    if user is None:
        return {"success": True, "data": {"exists": False}}
    return {"success": True, "data": {
        "exists": True,
        "lmsUserId": str(user.id),
        "userTypes": list(user.user_types),
        # Enrollments do not exist in the LMS yet; once they do, this asks whether any is active.
        "hasActiveEnrollments": False,
    }}


def _has_credential():
    return Exists(LegacyCredential.objects.filter(lms_user_id=OuterRef("pk")))


def _has_backup():
    return Exists(LegacyHashBackup.objects.filter(lms_user_id=OuterRef("pk")))


def legacy_accounts() -> QuerySet[LmsUser]:
    """LMS users that came from the legacy LMS: they hold a credential, or held one before migration."""
    return LmsUser.objects.filter(Q(_has_credential()) | Q(_has_backup()))


def legacy_duplicate_emails() -> list[str]:
    """Emails (lower-cased) shared by more than one legacy credential; migration refuses while any exist."""
    return list(
        LegacyCredential.objects.annotate(email_ci=Lower("lms_user__email"))
        .values("email_ci").annotate(accounts=Count("pk")).filter(accounts__gt=1)
        .order_by("email_ci").values_list("email_ci", flat=True)
    )


def legacy_migration_candidates() -> QuerySet[LmsUser]:
    """Users whose legacy credential is still in the LMS (not migrated, or restored by a rollback)."""
    return LmsUser.objects.filter(_has_credential())


def legacy_migrated_accounts() -> QuerySet[LmsUser]:
    return LmsUser.objects.filter(_has_backup(), ~Q(_has_credential()), commerce_user_id__isnull=False)


def legacy_restore_candidates() -> QuerySet[LmsUser]:
    """Users with a backup that has not been restored yet."""
    return LmsUser.objects.filter(
        Exists(LegacyHashBackup.objects.filter(lms_user_id=OuterRef("pk"), restored_at__isnull=True)))


def legacy_report() -> dict:
    """The wire answer of provider ``lms.legacy_report``."""
    return {
        "legacyAccounts": legacy_accounts().count(),
        "withPassword": LegacyCredential.objects.count(),
        "migrated": legacy_migrated_accounts().count(),
        "duplicateEmails": legacy_duplicate_emails(),
    }
