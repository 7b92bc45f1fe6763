"""Token families: issue, rotate (with reuse detection), revoke.

A family starts at a login (or, for SSO, with a storefront session) and ends
at its absolute expiry, at logout, or when revoked. Every refresh token is
recorded; rotating marks the old one used, and presenting a used one again
means it was copied, so the whole family is revoked. Revocation is written to
the database (the source of truth) and to the cache (what validation reads).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity import caching, tokens
from identity.errors import TokenExpired, TokenRefused, TokenReused, TokenRevoked
from identity.models import RefreshTokenRecord, TokenFamily, User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    family_id: str

    # dj-rest-auth's jwt_encode() reads ``.access_token`` and str() of what the claims serializer returns.
    @property
    def access_token(self) -> str:
        return self.access

    def __str__(self) -> str:
        return self.refresh


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


def _family_create(*, user: User, kind: str, now: datetime, session_key_hash: str = "") -> TokenFamily:
    return TokenFamily.objects.create(
        user=user, kind=kind, session_key_hash=session_key_hash, created_at=now,
        absolute_expires_at=now + _seconds(settings.JWT_REFRESH_ABSOLUTE_SECONDS))


SSO_SCOPE = "lms:sso"


def _access_mint(*, user_id, family_id, now: datetime, audience: str | None = None,
                 scope: str | None = None) -> tuple[str, datetime]:
    expires_at = now + _seconds(settings.JWT_ACCESS_TTL_SECONDS)
    token, _ = tokens.encode(token_type=tokens.ACCESS, user_id=user_id, family_id=family_id,
                             issued_at=now, expires_at=expires_at, audience=audience, scope=scope)
    return token, expires_at


def _pair_issue(*, family: TokenFamily, now: datetime) -> TokenPair:
    refresh_expires_at = min(now + _seconds(settings.JWT_REFRESH_TTL_SECONDS), family.absolute_expires_at)
    refresh, jti = tokens.encode(token_type=tokens.REFRESH, user_id=family.user_id, family_id=family.id,
                                 issued_at=now, expires_at=refresh_expires_at)
    RefreshTokenRecord.objects.create(jti=jti, family=family, issued_at=now, expires_at=refresh_expires_at)
    access, access_expires_at = _access_mint(user_id=family.user_id, family_id=family.id, now=now)
    return TokenPair(access=access, refresh=refresh, access_expires_at=access_expires_at,
                     refresh_expires_at=refresh_expires_at, family_id=str(family.id))


@transaction.atomic
def token_pair_issue(*, user: User, now: datetime | None = None) -> TokenPair:
    """A login: a new family, its first refresh token and an access token."""
    now = now or timezone.now()
    family = _family_create(user=user, kind=TokenFamily.Kind.API, now=now)
    return _pair_issue(family=family, now=now)


def _refresh_claims(raw: str, *, verify_exp: bool = True) -> dict:
    try:
        return tokens.decode(raw, token_type=tokens.REFRESH, verify_exp=verify_exp)
    except tokens.TokenExpired:
        raise TokenExpired("The refresh token has expired; sign in again.") from None
    except tokens.TokenInvalid:
        raise TokenRefused("The refresh token is not valid.") from None


def token_refresh(*, refresh: str, now: datetime | None = None) -> TokenPair:
    """Rotation: the presented refresh token is used up and a new pair issued in the same family.

    A refresh token presented a second time revokes its family (the holder of
    a stolen copy and the rightful owner both lose it) and is refused.
    """
    now = now or timezone.now()
    claims = _refresh_claims(refresh)
    with transaction.atomic():
        record = (RefreshTokenRecord.objects.select_for_update(of=("self",)).select_related("family", "family__user")
                  .filter(jti=claims["jti"]).first())
        if record is None or str(record.family_id) != claims["fam"] or str(record.family.user_id) != claims["sub"]:
            raise TokenRefused("The refresh token is not valid.")
        family = record.family
        if family.revoked_at is not None:
            raise TokenRevoked("The refresh token has been revoked; sign in again.")
        reused = record.used_at is not None
        if not reused:
            if now >= family.absolute_expires_at:
                raise TokenExpired("The session has reached its maximum age; sign in again.")
            if not family.user.is_active:
                raise TokenRevoked("The refresh token has been revoked; sign in again.")
            record.used_at = now
            record.save(update_fields=["used_at"])
            return _pair_issue(family=family, now=now)
    family_revoke(family_id=family.id, reason="refresh_reuse", now=now)
    raise TokenReused()


def family_revoke(*, family_id, reason: str, now: datetime | None = None) -> bool:
    """Revokes one family (database, then cache). True if it was still active."""
    now = now or timezone.now()
    family = TokenFamily.objects.filter(pk=family_id).values("id", "absolute_expires_at").first()
    if family is None:
        return False
    changed = TokenFamily.objects.filter(pk=family_id, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason[:64])
    caching.family_revoked_remember(family_id=family["id"], absolute_expires_at=family["absolute_expires_at"],
                                    now=now)
    return bool(changed)


def revoke_families_where(families, *, reason: str, now: datetime) -> int:
    """Revokes the live families of a queryset: database, then the security cache (again after commit,
    so a concurrent read that cached "live" before the commit is overwritten)."""
    rows = list(families.filter(revoked_at__isnull=True).values_list("id", "absolute_expires_at"))
    if not rows:
        return 0
    TokenFamily.objects.filter(pk__in=[family_id for family_id, _ in rows], revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason[:64])

    def remember():
        for family_id, absolute_expires_at in rows:
            caching.family_revoked_remember(family_id=family_id, absolute_expires_at=absolute_expires_at, now=now)

    remember()
    transaction.on_commit(remember)
    return len(rows)


def _revoke_where(*, reason: str, now: datetime, **filters) -> int:
    return revoke_families_where(TokenFamily.objects.filter(**filters), reason=reason, now=now)


def user_tokens_revoke_all(*, user_id, reason: str, kind: str | None = None, now: datetime | None = None) -> int:
    """Every live family of a user (erasure, password reset), or only those of one kind."""
    filters = {"user_id": user_id} | ({"kind": kind} if kind else {})
    return _revoke_where(reason=reason, now=now or timezone.now(), **filters)


SSO_BINDING_SESSION_KEY = "_identity_sso_binding"


def sso_session_binding(session) -> str:
    """A random value kept in the storefront session that names its SSO family.

    Not the session key itself: logging in (allauth) and opening the LMS session
    both cycle the key, while the session's data, and so this value, survive.
    """
    binding = session.get(SSO_BINDING_SESSION_KEY)
    if not binding:
        binding = session[SSO_BINDING_SESSION_KEY] = secrets.token_urlsafe(32)
    return binding


def session_key_hash(session_binding: str) -> str:
    return hashlib.sha256(session_binding.encode()).hexdigest()


def session_tokens_revoke(*, session_binding: str, reason: str = "storefront_logout",
                          now: datetime | None = None) -> int:
    """The SSO families tied to one storefront session (on its logout)."""
    if not session_binding:
        return 0
    return _revoke_where(reason=reason, now=now or timezone.now(),
                         session_key_hash=session_key_hash(session_binding))


def storefront_logout(request) -> int:
    """A storefront logout (the pages', the admin's): ends the SSO tokens handed to the LMS from this
    session, then the session itself (Django's logout flushes it, the LMS session in it too)."""
    from django.contrib.auth import logout as django_logout

    session = getattr(request, "session", None)
    revoked = session_tokens_revoke(session_binding=session.get(SSO_BINDING_SESSION_KEY, "")) if session else 0
    django_logout(request)
    return revoked


def logout(*, user: User, refresh: str | None, access_claims: dict | None, now: datetime | None = None) -> int:
    """API logout: the family of the refresh token (and of the access token used to call), which ends
    the refresh token and every access token issued with it. Returns the number of families ended."""
    now = now or timezone.now()
    family_ids = set()
    if refresh:
        # An expired refresh token still names its family; the signature is checked all the same.
        claims = _refresh_claims(refresh, verify_exp=False)
        if claims["sub"] != str(user.pk):
            raise TokenRefused("The refresh token belongs to another account.")
        family_ids.add(claims["fam"])
    if access_claims and access_claims.get("sub") == str(user.pk):
        family_ids.add(access_claims["fam"])
    return sum(family_revoke(family_id=family_id, reason="logout", now=now) for family_id in family_ids)


@transaction.atomic
def sso_access_token_issue(*, user: User, session_binding: str, now: datetime | None = None) -> str:
    """An access token for the storefront session's user, in a family tied to that session
    (see :func:`sso_session_binding`), so that logging out of the storefront revokes it. Its audience
    is the LMS (JWT_SSO_AUDIENCE) and its scope ``lms:sso``: it signs the person in to the LMS and
    opens nothing at the store."""
    now = now or timezone.now()
    key_hash = session_key_hash(session_binding)
    family = (TokenFamily.objects.filter(user=user, kind=TokenFamily.Kind.SSO, session_key_hash=key_hash,
                                         revoked_at__isnull=True, absolute_expires_at__gt=now)
              .order_by("-created_at").first())
    if family is None:
        family = _family_create(user=user, kind=TokenFamily.Kind.SSO, now=now, session_key_hash=key_hash)
    # The LMS's audience and scope: validate-token accepts it, no store API does (not even /me/export).
    token, _ = _access_mint(user_id=user.pk, family_id=family.id, now=now, audience=settings.JWT_SSO_AUDIENCE,
                            scope=SSO_SCOPE)
    return token
