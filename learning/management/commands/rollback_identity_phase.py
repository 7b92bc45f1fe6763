"""Returns identity to the previous migration phase (spec 10.3); from phase 3 it restores the legacy hashes."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integration.ports import PortUnavailable
from integration.ports.identity import identity_port
from integration.errors import ApplicationError
from integration.progress import progress
from learning.errors import MigrationRefused
from learning.selectors import identity_phase_forget, legacy_restore_candidates
from learning.services.migration import (
    RestoreOutcome,
    legacy_restore_batch_run,
    legacy_restore_batches,
    rollback_target_phase,
)


class Command(BaseCommand):
    help = ("From phase 3: restores legacy LMS credentials from the latest backups (the LMS users keep their "
            "Commerce link), then sets phase 2. From phase 2: sets phase 1. Safe to run again after a failure.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="accounts per transaction (default 500)")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            current = identity_port().phase().phase
            target = rollback_target_phase(current=current)
        except (MigrationRefused, PortUnavailable) as exc:
            raise CommandError(f"Refused: {exc.message}") from None
        counts: Counter[str] = Counter()
        if current == 3:
            now = timezone.now()

            def results():
                for ids in legacy_restore_batches(batch_size=batch_size):
                    yield from legacy_restore_batch_run(lms_user_ids=ids, now=now)

            for result in progress(results(), total=legacy_restore_candidates().count(), desc="Restoring",
                                   stdout=self.stdout):
                counts[result.outcome] += 1
        reason = (f"rollback_identity_phase: {current} -> {target}; restored {counts[RestoreOutcome.RESTORED]} "
                  "legacy LMS credentials")
        try:
            phase = identity_port().set_phase(phase=target, reason=reason).phase
        except ApplicationError as exc:
            raise CommandError(f"Restored {counts[RestoreOutcome.RESTORED]} credentials, but identity refused "
                               f"the phase change ({exc.message}); run the command again.") from None
        identity_phase_forget()
        self.stdout.write(self.style.SUCCESS(f"Identity phase {current} -> {phase}: ") + ", ".join([
            f"{counts[RestoreOutcome.RESTORED]} legacy credentials restored",
            f"{counts[RestoreOutcome.ALREADY_PRESENT]} already present",
            f"{counts[RestoreOutcome.SKIPPED]} skipped",
        ]))
