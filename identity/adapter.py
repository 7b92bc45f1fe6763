"""allauth's account adapter: the pages' sign-in goes through identity's throttle, and a completed sign-in
leaves the browser a device cookie (identity.services.login); the API's sign-in uses the same cookie."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.mfa.adapter import DefaultMFAAdapter as AllauthMfaAdapter
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate

from identity.errors import LoginLocked
from identity.mfa_crypto import mfa_decrypt, mfa_encrypt
from identity.services.login import (
    DEVICE_COOKIE_NAME,
    device_cookie_issue,
    device_for,
    login_attempt_begin,
    login_attempt_verified,
    login_success_record,
)
from identity.services.passwords import user_password_set
from identity.services.tokens import storefront_logout
from integration.client_address import client_address


def _login_of(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


def device_cookie_of(request) -> str | None:
    """The device cookie the request carries (unverified: identity.services.login.device_for checks it)."""
    return request.COOKIES.get(DEVICE_COOKIE_NAME) or None


def device_cookie_set(response, *, request, user) -> None:
    """After a completed sign-in: a new device cookie for ``user`` (HttpOnly, SameSite=Lax, Secure on
    HTTPS, for IDENTITY_DEVICE_COOKIE_SECONDS), replacing the one the browser had."""
    response.set_cookie(DEVICE_COOKIE_NAME, device_cookie_issue(user=user),
                        max_age=settings.IDENTITY_DEVICE_COOKIE_SECONDS, path="/", httponly=True,
                        secure=request.is_secure() or settings.SESSION_COOKIE_SECURE, samesite="Lax")


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """allauth's rate limits key on the project's one client-address rule (TRUSTED_PROXY_COUNT)."""
        return client_address(request)

    def client_address(self, request) -> str | None:
        return client_address(request)

    def pre_authenticate(self, request, **credentials) -> None:
        """Counts the attempt before the password is checked (identity.services.login): on the device when
        the browser's device cookie is valid for this email, else on the account and the address."""
        email = _login_of(credentials)
        try:
            login_attempt_begin(email=email, address=self.client_address(request),
                                device=device_for(cookie=device_cookie_of(request), email=email))
        except LoginLocked as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def authenticate(self, request, **credentials):
        self.pre_authenticate(request, **credentials)
        AuthenticationBackend.unstash_authenticated_user()
        user = authenticate(request, **credentials)
        inactive_user = AuthenticationBackend.unstash_authenticated_user()
        if user is not None:
            email = _login_of(credentials)
            device = device_for(cookie=device_cookie_of(request), email=email)
            login_attempt_verified(email=email, address=self.client_address(request), device=device)
            login_success_record(email=email, device=device)
            return user
        # allauth shows its "account inactive" page for a right password on an inactive account.
        return inactive_user

    def post_login(self, request, user, **kwargs):
        """Every completed page sign-in (after the MFA step, when there is one) renews the device cookie."""
        response = super().post_login(request, user, **kwargs)
        if response is not None:
            device_cookie_set(response, request=request, user=user)
        return response


    def logout(self, request) -> None:
        storefront_logout(request)

    def set_password(self, user, password) -> None:
        """Every page path (change, set, reset by key) sets a password here."""
        user_password_set(user=user, password=password, reason="password_changed")

    def send_mail(self, template_prefix, email, context):
        """Links in emails are absolute, on this site's configured address, never the request's host."""
        context = {**context, "site_name": settings.SITE_NAME, "site_url": settings.COMMERCE_BASE_URL.rstrip("/")}
        super().send_mail(template_prefix, email, context)


class MfaAdapter(AllauthMfaAdapter):
    """MFA secrets (the TOTP key, the recovery codes' seed) are stored encrypted (identity.mfa_crypto)."""

    def encrypt(self, text: str) -> str:
        return mfa_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_decrypt(encrypted_text)
