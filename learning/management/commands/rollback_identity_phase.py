"""Returns identity to the previous migration phase (spec 10.3); from phase 3 it restores the legacy hashes.

The orchestration is ``learning.services.migration.identity_rollback_run``; this command only
reads its options, shows the progress and prints the outcome.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integration.ports import PortUnavailable
from integration.progress import progress
from learning.errors import MigrationRefused
from learning.services.migration import identity_rollback_run


class Command(BaseCommand):
    help = ("From phase 3: restores legacy LMS credentials from the latest backups (the LMS users keep their "
            "Commerce link), then sets phase 2. From phase 2: sets phase 1. Safe to run again after a failure.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="accounts per transaction (default 500)")

    def handle(self, *args, batch_size, **options):
        def track(results, total):
            return progress(results, total=total, desc="Restoring", stdout=self.stdout)

        try:
            rollback = identity_rollback_run(batch_size=batch_size, now=timezone.now(), track=track)
        except (MigrationRefused, PortUnavailable) as exc:
            raise CommandError(f"Refused: {exc.message}") from None
        self.stdout.write(self.style.SUCCESS(f"Identity phase {rollback.from_phase} -> {rollback.to_phase}: ")
                          + ", ".join([f"{rollback.restored} legacy credentials restored",
                                       f"{rollback.already_present} already present",
                                       f"{rollback.skipped} skipped"]))
