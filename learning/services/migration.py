"""Identity migration phase 3 (spec 10.2) and its rollback (10.3), one account at a time in batches.

Migrating an account hands its legacy hash to Commerce (``identity_import_user``),
keeps a ``LegacyHashBackup``, links ``commerce_user_id`` and deletes the LMS copy.
Rolling back puts the latest backed-up hash back as the legacy credential; the
LMS user keeps its link to the Commerce identity. Each batch is one transaction,
and every step can run again: accounts already done are skipped.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import transaction

from integration.errors import ApplicationError
from integration.ports import PortUnavailable
from integration.ports.identity import identity_port
from learning.errors import MigrationRefused
from learning.models import LegacyCredential, LegacyHashBackup, LmsUser
from learning.selectors import (
    identity_phase_forget,
    legacy_duplicate_emails,
    legacy_migration_candidates,
    legacy_restore_candidates,
)


class MigrationOutcome(StrEnum):
    MIGRATED = "migrated"  # Commerce made a new identity with the legacy hash
    LINKED = "linked"  # Commerce already had this identity (an existing account, or linked before a rollback)
    SKIPPED = "skipped"  # nothing to do
    CONFLICT = "conflict"  # Commerce refused (email_conflict_unverified) or the identity is another LMS user's
    FAILED = "failed"


@dataclass(frozen=True)
class MigrationResult:
    outcome: MigrationOutcome
    lms_user_id: str
    email: str
    commerce_user_id: str | None = None
    reason: str = ""


class _LinkedElsewhere(Exception):
    def __init__(self, other: LmsUser):
        self.other = other


def legacy_migration_preflight() -> None:
    """Refuses, with the reason, unless identity is in phase 3 and no two legacy accounts share an email."""
    phase = identity_port().phase().phase
    if phase != 3:
        raise MigrationRefused(
            f"The identity phase is {phase}: LMS identities move to Commerce only in phase 3 "
            "(advance it with `manage.py identity_phase 3`).", details={"phase": phase})
    duplicates = legacy_duplicate_emails()
    if duplicates:
        raise MigrationRefused(
            "Some legacy accounts share an email address; merge or rename them first: " + ", ".join(duplicates),
            details={"duplicateEmails": duplicates})


def _batches(queryset, *, batch_size: int) -> Iterator[list]:
    """Primary keys in ascending order, ``batch_size`` at a time, re-querying after each batch."""
    last = None
    while True:
        page = queryset.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def legacy_migration_batches(*, batch_size: int) -> Iterator[list]:
    return _batches(legacy_migration_candidates(), batch_size=batch_size)


def legacy_migration_plan() -> Iterator[MigrationResult]:
    """What a run would do, account by account, without calling Commerce or changing anything."""
    for user in legacy_migration_candidates().order_by("pk").iterator(chunk_size=500):
        if not user.is_active:
            yield MigrationResult(MigrationOutcome.SKIPPED, str(user.id), user.email, reason="inactive LMS account")
        elif user.commerce_user_id:
            yield MigrationResult(MigrationOutcome.LINKED, str(user.id), user.email, user.commerce_user_id,
                                  reason="already linked; the legacy credential would be retired")
        else:
            yield MigrationResult(MigrationOutcome.MIGRATED, str(user.id), user.email,
                                  reason="a Commerce identity would be created (or an existing one linked)")


def _retire_credential(*, credential: LegacyCredential, user: LmsUser, batch_id: uuid.UUID, now: datetime) -> None:
    LegacyHashBackup.objects.create(lms_user=user, email=user.email, password_hash=credential.password_hash,
                                    source_created_at=credential.source_created_at, backed_up_at=now,
                                    batch_id=batch_id)
    credential.delete()


def legacy_account_migrate(*, lms_user_id, batch_id: uuid.UUID, now: datetime) -> MigrationResult:
    """Moves one legacy account to Commerce. Runs inside the caller's (batch) transaction.

    ``PortUnavailable`` propagates, so the batch rolls back and the run can resume later.
    """
    credential = (LegacyCredential.objects.select_for_update().select_related("lms_user")
                  .filter(lms_user_id=lms_user_id).first())
    if credential is None:
        user = LmsUser.objects.filter(pk=lms_user_id).first()
        return MigrationResult(MigrationOutcome.SKIPPED, str(lms_user_id), user.email if user else "",
                               user.commerce_user_id if user else None, reason="already migrated")
    user = credential.lms_user
    if not user.is_active:
        return MigrationResult(MigrationOutcome.SKIPPED, str(user.id), user.email, reason="inactive LMS account")
    if user.commerce_user_id:
        _retire_credential(credential=credential, user=user, batch_id=batch_id, now=now)
        return MigrationResult(MigrationOutcome.LINKED, str(user.id), user.email, user.commerce_user_id,
                               reason="already linked; legacy credential retired")
    try:
        # A savepoint: whatever the identity side wrote in this process goes if this account fails.
        with transaction.atomic():
            identity = identity_port().import_user(email=user.email, password_hash=credential.password_hash,
                                                  lms_user_id=str(user.id))
            other = LmsUser.objects.filter(commerce_user_id=identity.user_id).exclude(pk=user.pk).first()
            if other is not None:
                raise _LinkedElsewhere(other)
            user.commerce_user_id = identity.user_id
            user.save(update_fields=["commerce_user_id", "updated_at"])
            _retire_credential(credential=credential, user=user, batch_id=batch_id, now=now)
    except _LinkedElsewhere as exc:
        return MigrationResult(MigrationOutcome.CONFLICT, str(user.id), user.email, reason=(
            f"the Commerce identity for this email is already linked to LMS user {exc.other.pk}"))
    except PortUnavailable:
        raise
    except ApplicationError as exc:
        outcome = MigrationOutcome.CONFLICT if exc.status_code == 409 else MigrationOutcome.FAILED
        return MigrationResult(outcome, str(user.id), user.email, reason=f"{exc.code}: {exc.message}")
    outcome = MigrationOutcome.MIGRATED if identity.created else MigrationOutcome.LINKED
    return MigrationResult(outcome, str(user.id), user.email, identity.user_id)


def legacy_migration_batch_run(*, lms_user_ids: list, now: datetime) -> list[MigrationResult]:
    """One batch in one transaction, under one backup batch id."""
    batch_id = uuid.uuid4()
    with transaction.atomic():
        return [legacy_account_migrate(lms_user_id=pk, batch_id=batch_id, now=now) for pk in lms_user_ids]


# --- rollback ----------------------------------------------------------------

class RestoreOutcome(StrEnum):
    RESTORED = "restored"
    ALREADY_PRESENT = "already_present"  # a credential was already there; the backup is marked restored
    SKIPPED = "skipped"


@dataclass(frozen=True)
class RestoreResult:
    outcome: RestoreOutcome
    lms_user_id: str
    email: str


def rollback_target_phase(*, current: int) -> int:
    if current not in {2, 3}:
        raise MigrationRefused(f"The identity phase is {current}: there is no earlier phase to return to.",
                               details={"phase": current})
    return current - 1


def legacy_restore_batches(*, batch_size: int) -> Iterator[list]:
    return _batches(legacy_restore_candidates(), batch_size=batch_size)


def legacy_credential_restore(*, lms_user_id, now: datetime) -> RestoreResult:
    """Puts the latest un-restored backup back as the legacy credential; marks the backups restored."""
    user = LmsUser.objects.select_for_update().filter(pk=lms_user_id).first()
    if user is None:
        return RestoreResult(RestoreOutcome.SKIPPED, str(lms_user_id), "")
    pending = LegacyHashBackup.objects.filter(lms_user=user, restored_at__isnull=True)
    latest = pending.select_for_update().order_by("-backed_up_at", "-pk").first()
    if latest is None:
        return RestoreResult(RestoreOutcome.SKIPPED, str(user.id), user.email)
    _, created = LegacyCredential.objects.get_or_create(
        lms_user=user, defaults={"password_hash": latest.password_hash, "imported_at": now,
                                 "source_created_at": latest.source_created_at})
    pending.update(restored_at=now)
    return RestoreResult(RestoreOutcome.RESTORED if created else RestoreOutcome.ALREADY_PRESENT,
                         str(user.id), user.email)


def legacy_restore_batch_run(*, lms_user_ids: list, now: datetime) -> list[RestoreResult]:
    with transaction.atomic():
        return [legacy_credential_restore(lms_user_id=pk, now=now) for pk in lms_user_ids]


@dataclass(frozen=True)
class IdentityRollback:
    from_phase: int
    to_phase: int
    restored: int
    already_present: int
    skipped: int


def _untracked(results, total: int):
    return results


def identity_rollback_run(*, batch_size: int, now: datetime, track=_untracked) -> IdentityRollback:
    """Spec 10.3: one phase back. From phase 3 the legacy credentials are restored from their latest
    backups first (batches of ``batch_size``, one transaction each; the LMS users keep their Commerce
    link), then identity is asked for the previous phase. Safe to run again after a failure.

    ``track(results, total)`` wraps the per-account results (a progress bar). Raises
    :class:`MigrationRefused` (no earlier phase; or identity refused the phase change after the
    restore, with ``details.restored``) and ``PortUnavailable``.
    """
    if batch_size < 1:
        raise MigrationRefused("The batch size is at least 1.", details={"batchSize": batch_size})
    current = identity_port().phase().phase
    target = rollback_target_phase(current=current)
    counts = dict.fromkeys(RestoreOutcome, 0)
    if current == 3:
        def results():
            for ids in legacy_restore_batches(batch_size=batch_size):
                yield from legacy_restore_batch_run(lms_user_ids=ids, now=now)

        for result in track(results(), legacy_restore_candidates().count()):
            counts[result.outcome] += 1
    reason = (f"rollback_identity_phase: {current} -> {target}; restored {counts[RestoreOutcome.RESTORED]} "
              "legacy LMS credentials")
    try:
        phase = identity_port().set_phase(phase=target, reason=reason).phase
    except PortUnavailable:
        raise
    except ApplicationError as exc:
        raise MigrationRefused(
            f"Restored {counts[RestoreOutcome.RESTORED]} credentials, but identity refused the phase change "
            f"({exc.message}); run the rollback again.", details={"restored": counts[RestoreOutcome.RESTORED]}) from None
    identity_phase_forget()
    return IdentityRollback(from_phase=current, to_phase=phase, restored=counts[RestoreOutcome.RESTORED],
                            already_present=counts[RestoreOutcome.ALREADY_PRESENT],
                            skipped=counts[RestoreOutcome.SKIPPED])
