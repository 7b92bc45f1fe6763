"""Password sign-in for the API and the pages: throttling, one answer for every failure, the MFA step.

Throttling counts attempts per account (the email as typed, whether or not it
exists, so a lock says nothing about existence) and per client address, in the
database, atomically and *before* the password is checked
(:func:`integration.throttle.attempt_begin`). The attempt that reaches
IDENTITY_LOGIN_FAILURES_PER_ACCOUNT (or _PER_ADDRESS) locks that key for
base * 2^(attempts - limit) seconds, capped; a locked key is refused before any
password is checked, so concurrent guesses cannot slip past the limit. A right
password clears the account's count and takes its attempt back from the address.

**Device cookies** (OWASP's "Slow Down Online Guessing Attacks with Device
Cookies"). A completed sign-in gives the browser a signed cookie naming the
account (:func:`device_cookie_issue`). An attempt that presents a valid one for
the email being tried is a *known device*: it is counted on that device's own key
(IDENTITY_LOGIN_FAILURES_PER_DEVICE, then locked the same way) instead of the
account's and the address's, so neither a password spray that locks the address
nor guesses that lock the account keep the account's owner out of a browser she
signed in from before. A tampered, expired or another account's cookie makes
no difference: the attempt is counted and refused exactly as one without it.

Unknown email, wrong password and inactive account all get the same answer,
and each runs the password hasher once (allauth's backend hashes a dummy for
an unknown email), so their timing matches too.
"""

import re
import uuid

from allauth.account.auth_backends import AuthenticationBackend
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth import authenticate
from django.core import signing
from django.core.cache import caches
from django.utils.crypto import constant_time_compare, salted_hmac

from identity.errors import EmailNotVerified, InvalidCredentials, InvalidMfaCode, InvalidMfaToken, LoginLocked
from identity.models import User
from identity.selectors import user_has_mfa
from integration.throttle import (
    AttemptLimit,
    attempt_begin,
    attempt_failed,
    attempt_succeeded,
    attempts_clear,
    attempts_locked_for,
    hashed,
)

MFA_SALT = "identity.login.mfa"
MFA_MAX_ATTEMPTS = 5
DEVICE_SALT = "identity.login.device"
DEVICE_COOKIE_NAME = "idn_device"


def _account_tags(email: str) -> list[str]:
    """The account a device cookie names, as an HMAC of the email (the cookie does not carry it in clear);
    one tag per secret key, so rotating SECRET_KEY (old keys in SECRET_KEY_FALLBACKS) keeps the cookies."""
    value = email.strip().lower()
    return [salted_hmac(DEVICE_SALT, value, secret=secret, algorithm="sha256").hexdigest()[:32]
            for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]


def device_cookie_issue(*, user: User) -> str:
    """A device cookie's value for this user's browser: signed (its own salt), a fresh device id, and the
    time of issue (checked against IDENTITY_DEVICE_COOKIE_SECONDS)."""
    return signing.dumps({"a": _account_tags(user.email)[0], "d": uuid.uuid4().hex}, salt=DEVICE_SALT)


def device_for(*, cookie: str | None, email: str) -> str | None:
    """The device id of ``cookie`` when it is a valid device cookie for ``email``; else None (no cookie,
    a tampered or expired one, another account's)."""
    if not cookie or not email:
        return None
    try:
        data = signing.loads(cookie, salt=DEVICE_SALT, max_age=settings.IDENTITY_DEVICE_COOKIE_SECONDS)
        account, device = data["a"], data["d"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if not (isinstance(account, str) and isinstance(device, str) and re.fullmatch(r"[0-9a-f]{32}", device)):
        return None
    matches = [constant_time_compare(account, tag) for tag in _account_tags(email)]
    return device if any(matches) else None


def _limits(*, email: str, address: str | None, device: str | None = None) -> list[AttemptLimit]:
    common = {"window_seconds": settings.IDENTITY_LOGIN_FAILURE_WINDOW_SECONDS,
              "lockout_seconds": settings.IDENTITY_LOGIN_LOCKOUT_BASE_SECONDS,
              "lockout_max_seconds": settings.IDENTITY_LOGIN_LOCKOUT_MAX_SECONDS}
    if device:  # a known device (device_for): its own count replaces the account's and the address's
        return [AttemptLimit(key=f"idn:dev:{device}", limit=settings.IDENTITY_LOGIN_FAILURES_PER_DEVICE,
                             **common)]
    limits = [AttemptLimit(key=f"idn:acct:{hashed(email)}", limit=settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT,
                           **common)]
    if address:
        limits.append(AttemptLimit(key=f"idn:addr:{hashed(address)}",
                                   limit=settings.IDENTITY_LOGIN_FAILURES_PER_ADDRESS, **common))
    return limits


def _locked(wait: int) -> LoginLocked:
    return LoginLocked.after(wait)


def login_throttle_check(*, email: str, address: str | None, device: str | None = None) -> None:
    """Raises :class:`LoginLocked` while the account or the address is locked (counts nothing); for a known
    ``device`` (:func:`device_for`), while that device is."""
    wait = attempts_locked_for(_limits(email=email, address=address, device=device))
    if wait > 0:
        raise _locked(wait)


def login_attempt_begin(*, email: str, address: str | None, device: str | None = None) -> None:
    """Counts a password attempt before it is checked; raises :class:`LoginLocked` (unchecked) while
    the account or the address is locked (a known ``device``: while that device is)."""
    wait = attempt_begin(_limits(email=email, address=address, device=device))
    if wait > 0:
        raise _locked(wait)


def login_attempt_verified(*, email: str, address: str | None, device: str | None = None) -> None:
    """The password was right: this attempt is taken back (the account's earlier failures, e.g. wrong
    MFA codes, stay until the sign-in completes: :func:`login_success_record`)."""
    attempt_succeeded(release=_limits(email=email, address=address, device=device))


def login_failure_record(*, email: str, address: str | None, device: str | None = None) -> None:
    attempt_failed(_limits(email=email, address=address, device=device))


def login_success_record(*, email: str, device: str | None = None) -> None:
    """Clears the account's failures (not the address's: one good account must not reset a spray). From a
    known ``device``, that device's failures only: the account's count is what others guessed, and the
    owner signing in from her own browser must not give them a fresh start."""
    attempts_clear(_limits(email=email, address=None, device=device))


def credentials_authenticate(*, request, email: str, password: str, address: str | None,
                             device_cookie: str | None = None) -> User:
    """Counts the attempt (throttle), then checks the password (one hasher run, known email or not). Raises
    :class:`LoginLocked` or :class:`InvalidCredentials`; mandatory verification raises
    :class:`EmailNotVerified` (only with the right password). A valid device cookie for this email
    (:func:`device_for`) counts the attempt on that device instead of the account and the address.

    The account's failures are not cleared here but when the sign-in completes
    (:func:`login_success_record`), so a known password does not reset the count
    of wrong MFA codes."""
    device = device_for(cookie=device_cookie, email=email)
    login_attempt_begin(email=email, address=address, device=device)
    AuthenticationBackend.unstash_authenticated_user()
    user = authenticate(request, email=email, password=password)
    AuthenticationBackend.unstash_authenticated_user()
    if user is None or not user.is_active:
        raise InvalidCredentials()  # already counted
    login_attempt_verified(email=email, address=address, device=device)
    if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory" and not EmailAddress.objects.filter(
            user=user, email__iexact=user.email, verified=True).exists():
        raise EmailNotVerified()
    return user


def mfa_required(*, user: User) -> bool:
    return user_has_mfa(user=user)


def mfa_challenge_issue(*, user: User) -> str:
    """The ``mfaToken`` of the first step: signed, short-lived, single use."""
    return signing.dumps({"u": str(user.pk), "n": uuid.uuid4().hex}, salt=MFA_SALT)


def mfa_challenge_complete(*, mfa_token: str, code: str, address: str | None,
                           device_cookie: str | None = None) -> User:
    """Second step: a TOTP code or an unused recovery code for the user the token names. A valid device
    cookie for that user counts a wrong code on the device (as in the first step), not the account and
    the address."""
    try:
        data = signing.loads(mfa_token, salt=MFA_SALT, max_age=settings.IDENTITY_MFA_TOKEN_SECONDS)
        user_id, nonce = str(data["u"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError):
        raise InvalidMfaToken() from None
    used_key, attempts_key = f"idn:mfa:used:{nonce}", f"idn:mfa:tries:{nonce}"
    cache = caches["security"]
    if cache.get(used_key) is not None:
        raise InvalidMfaToken()
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise InvalidMfaToken()
    device = device_for(cookie=device_cookie, email=user.email)
    login_throttle_check(email=user.email, address=address, device=device)
    if _increment_with_ttl(cache, attempts_key) > MFA_MAX_ATTEMPTS:
        raise InvalidMfaToken("Too many wrong codes for this sign-in; sign in again.")
    code = "".join(code.split())
    authenticator = _matching_authenticator(user=user, code=code)
    if authenticator is None:
        login_failure_record(email=user.email, address=address, device=device)
        raise InvalidMfaCode()
    if not cache.add(used_key, 1, settings.IDENTITY_MFA_TOKEN_SECONDS):
        raise InvalidMfaToken()
    authenticator.record_usage()
    login_success_record(email=user.email, device=device)
    return user


def _increment_with_ttl(cache, key: str) -> int:
    if cache.add(key, 1, settings.IDENTITY_MFA_TOKEN_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        return 1


def _matching_authenticator(*, user: User, code: str) -> Authenticator | None:
    if not code:
        return None
    authenticators = {row.type: row for row in Authenticator.objects.filter(user=user)}
    totp = authenticators.get(Authenticator.Type.TOTP)
    if totp is not None and TOTP(totp).validate_code(code):
        return totp
    recovery = authenticators.get(Authenticator.Type.RECOVERY_CODES)
    if recovery is not None and RecoveryCodes(recovery).validate_code(code):
        return recovery
    return None
