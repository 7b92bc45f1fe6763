"""Identity phase 3: legacy LMS accounts become Commerce identities, keeping their passwords."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integration.ports import PortUnavailable
from integration.progress import progress
from learning.errors import MigrationRefused
from learning.selectors import legacy_migrated_accounts, legacy_migration_candidates
from learning.services.migration import (
    MigrationOutcome,
    legacy_migration_batch_run,
    legacy_migration_batches,
    legacy_migration_plan,
    legacy_migration_preflight,
)

LABELS = [
    (MigrationOutcome.MIGRATED, "migrated"),
    (MigrationOutcome.LINKED, "linked to an existing account"),
    (MigrationOutcome.SKIPPED, "skipped"),
    (MigrationOutcome.CONFLICT, "conflicts"),
    (MigrationOutcome.FAILED, "failed"),
]


class Command(BaseCommand):
    help = ("Creates Commerce identities for legacy LMS accounts with their password hashes, backs the hashes "
            "up, links commerceUserId and removes the LMS copy. Needs identity phase 3 and no duplicate "
            "emails. Runs in batches (one transaction each); resumable and idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing")
        parser.add_argument("--batch-size", type=int, default=100, help="accounts per transaction (default 100)")

    def handle(self, *args, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        already = legacy_migrated_accounts().count()
        if dry_run:
            self._dry_run(already)
            return
        try:
            legacy_migration_preflight()
        except MigrationRefused as exc:
            raise CommandError(f"Refused: {exc.message}") from None
        except PortUnavailable as exc:
            raise CommandError(f"Refused: identity did not answer ({exc.message})") from None
        counts: Counter[str] = Counter({MigrationOutcome.SKIPPED: already})
        problems: list[str] = []
        now = timezone.now()

        def results():
            for ids in legacy_migration_batches(batch_size=batch_size):
                yield from legacy_migration_batch_run(lms_user_ids=ids, now=now)

        try:
            for result in progress(results(), total=legacy_migration_candidates().count(), desc="Migrating",
                                   stdout=self.stdout):
                counts[result.outcome] += 1
                if result.outcome in {MigrationOutcome.CONFLICT, MigrationOutcome.FAILED}:
                    problems.append(f"{result.outcome}: {result.email} (LMS user {result.lms_user_id}): "
                                    f"{result.reason}")
        except PortUnavailable as exc:
            self._summary(counts, problems, already)
            raise CommandError(f"Stopped: identity did not answer ({exc.message}). Batches done so far are "
                               "kept; run the command again to resume.") from None
        self._summary(counts, problems, already)

    def _summary(self, counts: Counter, problems: list[str], already: int) -> None:
        for line in problems:
            self.stderr.write(line)
        self.stdout.write(self.style.SUCCESS("Identity migration: ") + ", ".join(
            f"{counts[key]} {label}" for key, label in LABELS) + f" ({already} were migrated before this run)")

    def _dry_run(self, already: int) -> None:
        try:
            legacy_migration_preflight()
        except MigrationRefused as exc:
            self.stdout.write(self.style.WARNING(f"A real run would be refused: {exc.message}"))
        except PortUnavailable as exc:
            self.stdout.write(self.style.WARNING(f"Identity did not answer ({exc.message})"))
        counts: Counter[str] = Counter({MigrationOutcome.SKIPPED: already})
        for result in legacy_migration_plan():
            counts[result.outcome] += 1
            self.stdout.write(f"would {'skip' if result.outcome == MigrationOutcome.SKIPPED else 'migrate'} "
                              f"{result.email} (LMS user {result.lms_user_id}): {result.reason}")
        self.stdout.write(self.style.SUCCESS("Dry run, nothing changed: ") + ", ".join(
            f"{counts[key]} {label}" for key, label in LABELS[:3]) + f" ({already} already migrated)")
