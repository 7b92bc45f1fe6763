"""``manage.py reconcile [NAME ...|all]``: runs the reconciliation jobs now and prints what each found and fixed.

Each app registers its job as the hook ``reconcile.<name>`` (``hook(*, stdout, full)``), like the
``seed.<app>`` hooks of ``seed_demo``; integration imports none of them (``reconcile.enrollments`` and
``reconcile.sales``, which compare two apps through their ports, are integration's own:
``integration/reconcile.py`` and ``integration/reconcile_sales.py``). A job that leaves a difference it could
not fix raises; the command then names it and exits non-zero, else it ends with "no differences left".
"""

from django.core.management.base import BaseCommand, CommandError

from integration import registry
from integration.errors import ApplicationError
from integration.progress import progress

# The order "all" runs them in: what is sold first, then what was bought (grants pushed again, then every paid
# order line against the LMS's enrollments), then the money (every sale sold against the payouts ledger, then
# every balance against its entries).
RECONCILE_ORDER = ["reconcile.catalog", "reconcile.entitlements", "reconcile.enrollments", "reconcile.sales",
                   "reconcile.ledger"]


def reconcile_jobs() -> dict:
    jobs = registry.providers_named("reconcile.")
    ordered = [name for name in RECONCILE_ORDER if name in jobs]
    ordered += sorted(name for name in jobs if name not in RECONCILE_ORDER)
    return {name.removeprefix("reconcile."): jobs[name] for name in ordered}


class Command(BaseCommand):
    help = ("Runs reconciliation jobs now (catalog, entitlements, enrollments, sales, ledger, or all) and prints "
            "what each fixed.")

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", default=["all"], help="jobs to run (default: all)")
        parser.add_argument("--full", action="store_true",
                            help="compare everything, not only what changed since the last run")

    def handle(self, *args, names, full, **options):
        jobs = reconcile_jobs()
        wanted = list(jobs) if "all" in names else names
        unknown = [name for name in wanted if name not in jobs]
        if unknown:
            raise CommandError(f"unknown reconciliation {', '.join(unknown)}; this deployment has: "
                               f"{', '.join(jobs) or 'none'}")
        failed = []
        for name in progress(wanted, desc="Reconciling", stdout=self.stderr, quiet=True, unit="job"):
            self.stdout.write(self.style.MIGRATE_HEADING(f"Reconciling {name}"))
            try:
                jobs[name](stdout=self.stdout, full=full)
            except ApplicationError as exc:
                failed.append(name)
                self.stderr.write(f"{name}: {exc.code}: {exc.message}")
        if failed:
            raise CommandError(f"reconciliation left differences or failed in: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS(f"Reconciled {', '.join(wanted) or 'nothing'}: no differences left."))
