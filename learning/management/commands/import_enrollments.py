"""``manage.py import_enrollments FILE [--dry-run]``: bulk enrollments from CSV with a per-row report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integration.progress import progress
from learning.services.imports import enrollments_import


class Command(BaseCommand):
    help = "Enrolls people from a CSV file (email, courseId or programId, expiresAt?); source 'import'."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with a header row")
        parser.add_argument("--dry-run", action="store_true", help="check every row, change nothing")

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        text = path.read_text(encoding="utf-8-sig")
        lines = max(0, len(text.strip().splitlines()) - 1)  # a bar on a terminal (quoted line breaks aside)
        reports = enrollments_import(text=text, dry_run=dry_run, now=timezone.now(), rows=lambda numbered: progress(
            numbered, total=lines, desc="Importing", stdout=self.stderr, quiet=True))
        counts: dict[str, int] = {}
        for report in reports:
            counts[report.outcome] = counts.get(report.outcome, 0) + 1
            detail = report.reason or report.enrollment_id
            self.stdout.write(f"row {report.row}: {report.outcome:<16} {report.email} {report.target} {detail}".rstrip())
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no rows"
        prefix = "DRY RUN (nothing changed): " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{summary}"))
