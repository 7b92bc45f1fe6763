"""``manage.py payouts_run``: the periodic payout run now (what beat runs daily), with a bar on a terminal."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from integration.progress import progress
from payouts.services.payouts import payout_run


class Command(BaseCommand):
    help = ("Pays every payee whose payout day is today and whose available balance reaches their minimum "
            "(safe to repeat: a payee is paid at most once a day).")

    def handle(self, *args, **options):
        counts = payout_run(now=timezone.now(), rows=lambda balances: progress(
            balances, desc="Paying", stdout=self.stderr, quiet=True, unit="balance"))
        summary = ", ".join(f"{count} {outcome.replace('_', ' ')}" for outcome, count in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Payout run done: {summary}."))
