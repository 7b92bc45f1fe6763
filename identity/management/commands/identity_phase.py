from django.core.management.base import BaseCommand, CommandError

from identity.models import IdentityPhaseChange
from identity.selectors import identity_phase_get
from identity.services.phases import identity_phase_set
from identity.services.roles import actor_for_system
from integration.errors import ApplicationError

DESCRIPTIONS = {
    1: "Commerce foundation: Commerce creates new users; legacy LMS accounts still log in at the LMS.",
    2: "SSO bridge: the LMS also accepts Commerce tokens; legacy accounts keep their LMS login.",
    3: "Identity migration: legacy LMS accounts move to Commerce identities; all sign-in goes through Commerce.",
}


class Command(BaseCommand):
    help = "Shows the identity migration phase, or moves it one step (refusing, with the reason, a step " \
           "whose preconditions fail)."

    def add_arguments(self, parser):
        parser.add_argument("phase", nargs="?", type=int, choices=[1, 2, 3])
        parser.add_argument("--reason", default="", help="Recorded in the phase history.")

    def handle(self, *args, phase=None, reason="", **options):
        current = identity_phase_get()
        if phase is None:
            self._show(current)
            return
        try:
            change = identity_phase_set(phase=phase, reason=reason or f"manage.py identity_phase {phase}",
                                        actor=actor_for_system("manage.py identity_phase"))
        except ApplicationError as exc:
            duplicates = exc.details.get("duplicateEmails") or []
            for email in duplicates:
                self.stderr.write(f"  duplicate: {email}")
            raise CommandError(f"Refused ({exc.code}): {exc.message}") from None
        if not change.changed:
            self.stdout.write(f"Already in phase {phase}.")
            return
        self.stdout.write(self.style.SUCCESS(f"Phase {change.from_phase} → {change.to_phase}."))
        self.stdout.write(DESCRIPTIONS[change.to_phase])

    def _show(self, current: int) -> None:
        self.stdout.write(f"Identity migration phase: {current}")
        self.stdout.write(DESCRIPTIONS[current])
        history = IdentityPhaseChange.objects.order_by("-changed_at")[:10]
        if history:
            self.stdout.write("History (newest first):")
            for row in history:
                self.stdout.write(f"  {row.changed_at:%Y-%m-%d %H:%M} UTC  {row.from_phase} → {row.to_phase}  "
                                  f"by {row.changed_by}: {row.reason}")
