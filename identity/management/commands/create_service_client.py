from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from identity.models import SERVICE_SCOPES
from identity.services.service_clients import service_client_upsert
from integration.errors import ApplicationError

WEAK_SECRET_LENGTH = 16


class Command(BaseCommand):
    help = ("Registers a service client (secret stored hashed) with the scopes it may ask for. "
            "Idempotent: running it again updates the secret and the scopes.")

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("--secret", required=True)
        parser.add_argument("--scope", action="append", required=True, dest="scopes",
                            help="Repeat for each scope: " + ", ".join(SERVICE_SCOPES))
        parser.add_argument("--description", default="")

    def handle(self, *args, client_id, secret, scopes, description, **options):
        try:
            upsert = service_client_upsert(client_id=client_id, secret=secret, scopes=scopes,
                                           description=description)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(errors)}"
                                         for field, errors in exc.message_dict.items())) from None
        if len(secret) < WEAK_SECRET_LENGTH:
            self.stderr.write(self.style.WARNING(f"The secret is shorter than {WEAK_SECRET_LENGTH} characters."))
        verb = "Created" if upsert.created else "Updated"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} service client {upsert.client.client_id} with scopes: {' '.join(upsert.client.scopes)}"))
