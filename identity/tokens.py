"""The JWTs identity issues: encoding, strict decoding, and simplejwt's token class for DRF.

Every token is HS256 (pinned: ``none``, other HMAC sizes and public-key
algorithms are refused), carries ``token_type``, ``aud``, ``iss``, ``exp``,
``iat``, ``jti``, ``sub`` (the user id) and ``fam`` (its token family), and all
of them are required on the way in.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime

import jwt
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from identity.caching import family_is_revoked

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "aud", "iss", "fam", "token_type"]
MAX_TOKEN_LENGTH = 4096
# Our processes mint tokens with their own clocks; tolerate this much disagreement on "iat"/"nbf".
MAX_CLOCK_SKEW_SECONDS = 30
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class TokenInvalid(Exception):
    """Malformed, wrongly signed, wrong algorithm, audience, issuer or type, or missing a claim."""


class TokenExpired(Exception):
    """Genuine (signature checked) but past its ``exp``."""


def encode(*, token_type: str, user_id: str, family_id: str, issued_at: datetime, expires_at: datetime,
           audience: str | None = None, scope: str | None = None) -> tuple[str, str]:
    """Returns ``(token, jti)``. ``audience`` defaults to the store's (JWT_AUDIENCE); the SSO handoff
    token names the LMS's (JWT_SSO_AUDIENCE) and the scope ``lms:sso``, so no store API accepts it."""
    jti = uuid.uuid4().hex
    claims = {
        "token_type": token_type,
        "sub": str(user_id),
        "fam": str(family_id),
        "jti": jti,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "aud": audience or settings.JWT_AUDIENCE,
        "iss": settings.JWT_ISSUER,
    }
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM), jti


def _segment_bytes(segment: str) -> bytes:
    if not segment or not _BASE64URL.fullmatch(segment):
        raise TokenInvalid
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid from None


def _json_object(segment: str) -> dict:
    try:
        value = json.loads(_segment_bytes(segment))
    except (ValueError, UnicodeDecodeError):
        raise TokenInvalid from None
    if not isinstance(value, dict):
        raise TokenInvalid
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def decode(raw: str | bytes, *, token_type: str, verify_exp: bool = True,
           audiences: tuple[str, ...] | None = None) -> dict:
    """The claims of a token identity issued, or :class:`TokenInvalid` / :class:`TokenExpired`.

    A strict HS256 verifier on the standard library (PyJWT's decoder spends
    ~170 µs validating base64 in Python; this is the hot path of token
    validation). Only ``{"alg": "HS256"}`` headers are accepted, the signature
    segment must be canonical base64url, the MAC is compared in constant time
    before anything in the payload is trusted, and the signature is checked
    before the expiry, so only a genuine token is ever reported as expired.
    ``audiences``: those accepted (default: the store's own, JWT_AUDIENCE).
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            raise TokenInvalid from None
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH or raw.count(".") != 2:
        raise TokenInvalid
    header_segment, payload_segment, signature_segment = raw.split(".")
    header = _json_object(header_segment)
    if header.get("alg") != ALGORITHM or header.get("typ", "JWT") != "JWT" or "crit" in header:
        raise TokenInvalid
    signature = _segment_bytes(signature_segment)
    if base64.urlsafe_b64encode(signature).rstrip(b"=").decode() != signature_segment:
        raise TokenInvalid  # one token, one spelling
    expected = hmac.new(settings.JWT_SIGNING_KEY.encode(), f"{header_segment}.{payload_segment}".encode(),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenInvalid
    claims = _json_object(payload_segment)
    if any(name not in claims for name in REQUIRED_CLAIMS):
        raise TokenInvalid
    if claims["aud"] not in (audiences or (settings.JWT_AUDIENCE,)) or claims["iss"] != settings.JWT_ISSUER:
        raise TokenInvalid
    if claims["token_type"] != token_type:
        raise TokenInvalid
    if not all(isinstance(claims[name], str) and claims[name] for name in ("sub", "fam", "jti")):
        raise TokenInvalid
    now = time.time()
    if not (_is_int(claims["exp"]) and _is_int(claims["iat"])) or claims["iat"] > now + MAX_CLOCK_SKEW_SECONDS:
        raise TokenInvalid
    if "nbf" in claims and (not _is_int(claims["nbf"]) or claims["nbf"] > now + MAX_CLOCK_SKEW_SECONDS):
        raise TokenInvalid
    if verify_exp and claims["exp"] <= now:
        raise TokenExpired
    return claims


class AccessToken(Token):
    """simplejwt's view of our access tokens, for ``JWTAuthentication`` (SIMPLE_JWT AUTH_TOKEN_CLASSES).

    Decoding is :func:`decode` (strict), and a revoked family is refused here,
    from the cache alone, so every API that takes a Bearer token honours logout
    and reuse detection.
    """

    token_type = ACCESS
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]

    def __init__(self, token=None, verify: bool = True) -> None:
        if token is None:
            raise TokenError(_("Access tokens are minted by identity.services.tokens."))
        self.token = token
        self.current_time = aware_utcnow()
        try:
            self.payload = decode(token, token_type=ACCESS)
        except TokenExpired:
            raise ExpiredTokenError(_("Token is expired")) from None
        except TokenInvalid:
            raise TokenError(_("Token is invalid")) from None
        if family_is_revoked(family_id=self.payload["fam"]):
            raise TokenError(_("Token has been revoked"))
