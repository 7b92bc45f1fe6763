"""``manage.py payouts_rotate_keys``: re-encrypts stored bank details and tax ids under the first key of
PAYOUT_ENCRYPTION_KEYS, so the old keys can then be removed."""

from django.core.management.base import BaseCommand

from payouts.services.settings import payout_secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypts payout secrets under the first PAYOUT_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        count = payout_secrets_rotate()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} secret(s) under the current key."))
