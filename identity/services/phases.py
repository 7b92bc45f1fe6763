"""The identity migration phase (000_... section 10): 1 foundation, 2 SSO bridge, 3 identity migration.

The phase moves one step at a time. Going to 3 needs the LMS's legacy accounts
to be migratable: no two of them may share an email address.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from identity.errors import (
    DuplicateLegacyEmails,
    InvalidPhase,
    LmsReportUnavailable,
    PhaseChanged,
    PhaseStepTooLarge,
    ReasonRequired,
)
from identity.models import IdentityPhase, IdentityPhaseChange
from identity.selectors import identity_phase_get
from integration.ports.learning import learning_port

PHASES = (1, 2, 3)


@dataclass(frozen=True)
class PhaseChange:
    from_phase: int
    to_phase: int
    changed: bool


def identity_phase_preconditions(*, to_phase: int) -> None:
    """Raises :class:`PhaseChangeRefused` naming what stands in the way of entering ``to_phase``."""
    if to_phase != 3:
        return
    try:
        report = learning_port().legacy_report()
    except Exception as exc:  # any failure to learn the LMS's state refuses the step
        code = getattr(exc, "code", exc.__class__.__name__)
        raise LmsReportUnavailable(details={"reason": str(code)}) from None
    if report.duplicate_emails:
        raise DuplicateLegacyEmails(
            f"{len(report.duplicate_emails)} email address(es) belong to more than one legacy LMS account; "
            "merge or fix them before migrating identities.",
            details={"duplicateEmails": list(report.duplicate_emails)})


def identity_phase_set(*, phase: int, reason: str, actor: str) -> PhaseChange:
    """One step forward or back; the same phase again is a no-op."""
    if phase not in PHASES:
        raise InvalidPhase(details={"phase": phase})
    if not reason or not reason.strip():
        raise ReasonRequired()
    current = identity_phase_get()
    if phase == current:
        return PhaseChange(from_phase=current, to_phase=phase, changed=False)
    if abs(phase - current) != 1:
        raise PhaseStepTooLarge(f"Phases change one step at a time: the current phase is {current}.",
                                details={"current": current, "requested": phase})
    if phase > current:
        identity_phase_preconditions(to_phase=phase)
    with transaction.atomic():
        row, _ = IdentityPhase.objects.select_for_update().get_or_create(pk=1)
        if row.phase != current:
            raise PhaseChanged(details={"current": row.phase})
        now = timezone.now()
        row.phase, row.updated_at = phase, now
        row.save(update_fields=["phase", "updated_at"])
        IdentityPhaseChange.objects.create(from_phase=current, to_phase=phase, changed_at=now,
                                           changed_by=actor[:255], reason=reason.strip()[:1000])
    return PhaseChange(from_phase=current, to_phase=phase, changed=True)
