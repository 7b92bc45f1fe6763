"""``manage.py changepassword [EMAIL]``: Django's command, but the new password is set through the
password service, so every live token family of the account (API sign-ins, SSO tokens handed to the
LMS) is revoked as on any other password change. This app comes before ``django.contrib.auth`` in
``INSTALLED_APPS`` so that this command is the one ``manage.py`` runs.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.management.commands.changepassword import Command as DjangoChangePassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from identity.services.passwords import user_password_set

MAX_TRIES = 3


class Command(DjangoChangePassword):
    help = "Change a user's password; their sign-ins and SSO tokens are revoked, as on every password change."

    def handle(self, *args, **options):
        user_model = get_user_model()
        email = options["username"]
        if not email:
            raise CommandError("give the account's email: manage.py changepassword EMAIL")
        try:
            user = user_model._default_manager.using(options["database"]).get(email__iexact=email)
        except user_model.DoesNotExist:
            raise CommandError(f"user '{email}' does not exist") from None
        self.stdout.write(f"Changing password for user '{user}'")
        password = self._ask_until_valid(user)
        revoked = user_password_set(user=user, password=password, reason="password_changed_by_operator")
        return f"Password changed successfully for user '{user}'; {revoked} sign-in(s) revoked."

    def _ask_until_valid(self, user) -> str:
        for _ in range(MAX_TRIES):
            first, second = self._get_pass(), self._get_pass("Password (again): ")
            if first != second:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(second, user)
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                continue
            return first
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
