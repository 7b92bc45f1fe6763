"""allauth's account adapter: the pages' sign-in goes through identity's throttle."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from django import forms
from django.contrib.auth import authenticate

from identity.errors import LoginLocked
from identity.services.login import login_failure_record, login_success_record, login_throttle_check


def _login_of(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


class AccountAdapter(DefaultAccountAdapter):
    def client_address(self, request) -> str | None:
        try:
            return self.get_client_ip(request)
        except Exception:  # allauth raises PermissionDenied when no address can be found
            return None

    def pre_authenticate(self, request, **credentials) -> None:
        try:
            login_throttle_check(email=_login_of(credentials), address=self.client_address(request))
        except LoginLocked as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def authenticate(self, request, **credentials):
        self.pre_authenticate(request, **credentials)
        AuthenticationBackend.unstash_authenticated_user()
        user = authenticate(request, **credentials)
        inactive_user = AuthenticationBackend.unstash_authenticated_user()
        if user is not None:
            login_success_record(email=_login_of(credentials))
            return user
        login_failure_record(email=_login_of(credentials), address=self.client_address(request))
        # allauth shows its "account inactive" page for a right password on an inactive account.
        return inactive_user
