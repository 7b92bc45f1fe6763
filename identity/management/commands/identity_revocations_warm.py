from django.core.management.base import BaseCommand

from identity.caching import revocations_warm


class Command(BaseCommand):
    help = ("Copies token revocations from the database into the cache (token validation reads only the "
            "cache). Validation also does this by itself when it finds the cache emptied; run it after a "
            "cache flush or before sending traffic to a fresh cache.")

    def handle(self, *args, **options):
        count = revocations_warm()
        self.stdout.write(self.style.SUCCESS(f"{count} revoked token famil{'y' if count == 1 else 'ies'} cached."))
