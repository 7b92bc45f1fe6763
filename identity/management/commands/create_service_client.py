"""``manage.py create_service_client CLIENT_ID [secret source] --scope SCOPE [--scope SCOPE …]``.

Where the secret comes from (at most one): ``--secret-stdin`` (standard input, first line),
``--secret-file PATH``, ``--secret-env NAME`` (an environment variable), ``--generate-secret``
(printed once, stored hashed), or ``--secret SECRET`` (kept for compatibility; it puts the
secret in the process list and the shell history, so prefer the others). A value starting
with ``-`` is accepted (``--secret -abc`` and ``--secret=-abc``). Without any of them a new
client gets a generated secret (printed once) and an existing client keeps its secret.
"""

import os
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from identity.models import SERVICE_SCOPES, ServiceClient
from identity.services.roles import actor_for_system
from identity.services.service_clients import service_client_upsert
from integration.errors import ApplicationError

WEAK_SECRET_LENGTH = 16
ACTOR = actor_for_system("manage.py create_service_client")


def _secret_value_joined(args: list[str]) -> list[str]:
    """``--secret -abc`` → ``--secret=-abc``: argparse would take ``-abc`` for an option."""
    joined, index = [], 0
    while index < len(args):
        if args[index] == "--secret" and index + 1 < len(args):
            joined.append(f"--secret={args[index + 1]}")
            index += 2
            continue
        joined.append(args[index])
        index += 1
    return joined


class Command(BaseCommand):
    help = ("Registers a service client (secret stored hashed) with the scopes it may ask for. Idempotent: "
            "running it again updates the scopes (and the secret, when one is given). Every change is audited.")

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse_known_args = parser.parse_known_args

        def parse_known_args_joined(args=None, namespace=None):
            args = list(sys.argv[2:] if args is None else args)
            return parse_known_args(_secret_value_joined(args), namespace)

        parser.parse_known_args = parse_known_args_joined
        return parser

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--secret", help="The secret itself (visible in the process list: prefer the "
                                             "options below).")
        source.add_argument("--secret-stdin", action="store_true", help="Read the secret from standard input.")
        source.add_argument("--secret-file", metavar="PATH", help="Read the secret from this file.")
        source.add_argument("--secret-env", metavar="NAME", help="Read the secret from this environment variable.")
        source.add_argument("--generate-secret", action="store_true",
                            help="Generate a secret, store it hashed and print it once.")
        parser.add_argument("--scope", action="append", required=True, dest="scopes",
                            help="Repeat for each scope: " + ", ".join(SERVICE_SCOPES))
        parser.add_argument("--description", default=None)
        parser.add_argument("--deactivate", action="store_true",
                            help="Deactivate the client: its tokens stop working at once.")
        parser.add_argument("--reason", default="", help="Written to the service-client audit log.")

    def _secret(self, options) -> str | None:
        if options["secret"] is not None:
            return options["secret"]
        if options["secret_stdin"]:
            return self._one_line(sys.stdin.readline(), "standard input")
        if options["secret_file"]:
            try:
                text = Path(options["secret_file"]).read_text()
            except OSError as exc:
                raise CommandError(f"Cannot read {options['secret_file']}: {exc.strerror}") from None
            return self._one_line(text.splitlines()[0] if text else "", options["secret_file"])
        if options["secret_env"]:
            value = os.environ.get(options["secret_env"])
            if value is None:
                raise CommandError(f"The environment variable {options['secret_env']} is not set.")
            return self._one_line(value, options["secret_env"])
        return None

    @staticmethod
    def _one_line(value: str, where: str) -> str:
        value = value.rstrip("\r\n")
        if not value:
            raise CommandError(f"No secret in {where}.")
        return value

    def handle(self, *args, client_id, scopes, description, deactivate, reason, **options):
        secret = self._secret(options)
        generate = options["generate_secret"] or (
            secret is None and not ServiceClient.objects.filter(client_id=client_id).exists())
        try:
            upsert = service_client_upsert(client_id=client_id, secret=secret, generate_secret=generate,
                                           scopes=scopes, description=description, is_active=not deactivate,
                                           actor=ACTOR, reason=reason or "manage.py create_service_client")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(errors)}"
                                         for field, errors in exc.message_dict.items())) from None
        if secret is not None and len(secret) < WEAK_SECRET_LENGTH:
            self.stderr.write(self.style.WARNING(f"The secret is shorter than {WEAK_SECRET_LENGTH} characters."))
        verb = "Created" if upsert.created else ("Updated" if upsert.changed else "Unchanged:")
        state = "" if upsert.client.is_active else " (inactive)"
        self.stdout.write(self.style.SUCCESS(
            f"{verb} service client {upsert.client.client_id}{state} with scopes: {' '.join(upsert.client.scopes)}"))
        if upsert.generated_secret:
            self.stdout.write("Its secret (shown this once, stored hashed):")
            self.stdout.write(upsert.generated_secret)
