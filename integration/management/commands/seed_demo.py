"""Idempotent demo data: each served app seeds its own part through its registered "seed.*" provider.

A seeder may answer a line to repeat at the end (the demo logins), after what the seeding printed.
On a terminal a progress bar (on stderr) counts the apps seeded; off one (CI, ``call_command``) the headings
alone say how far it got.
"""

from django.core.management.base import BaseCommand

from integration import registry
from integration.progress import progress

# Apps seed in dependency order: accounts first, then the LMS content that is
# published into the catalog, then the sales that need both.
SEED_ORDER = ["seed.identity", "seed.learning", "seed.revenue", "seed.catalog", "seed.orders", "seed.payouts"]


class Command(BaseCommand):
    help = "Loads demo data (accounts, departments, courses, orders). Safe to run again."

    def handle(self, *args, **options):
        seeders = registry.providers_named("seed.")
        ordered = [name for name in SEED_ORDER if name in seeders]
        ordered += sorted(name for name in seeders if name not in SEED_ORDER)
        if not ordered:
            self.stdout.write("No app in this deployment has demo data to load.")
            return
        summaries = []
        for name in progress(ordered, desc="Seeding", stdout=self.stderr, quiet=True, unit="app"):
            self.stdout.write(self.style.MIGRATE_HEADING(f"Seeding {name.removeprefix('seed.')}"))
            summary = seeders[name](stdout=self.stdout)
            if summary:
                summaries.append(summary)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({', '.join(n.removeprefix('seed.') for n in ordered)})."))
        for summary in summaries:  # after the demo's emails (a console backend prints them as each seed commits)
            self.stdout.write(summary)
