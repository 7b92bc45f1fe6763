"""Encryption at rest for MFA secrets (allauth's ``MFAAdapter.encrypt``/``decrypt``).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under MFA_ENCRYPTION_KEY:
comma-separated keys, the first encrypts and all decrypt (MultiFernet), so a key can be
rotated. Each key is a Fernet key (``Fernet.generate_key()``) or any other secret string,
from which a Fernet key is derived with SHA-256. Without the variable, a random key is made
once in ``var/`` like the other local secrets (the embedded default only).

A value stored before encryption was turned on (no Fernet prefix) is still read, and
``manage.py migrate`` (identity 0005) encrypts those in place.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

PREFIX = "fernet:"


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


@cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(key) for key in keys])


def cipher() -> MultiFernet:
    keys = tuple(key.strip() for key in settings.MFA_ENCRYPTION_KEY.split(",") if key.strip())
    if not keys:
        raise RuntimeError("MFA_ENCRYPTION_KEY is empty")
    return _cipher(keys)


def mfa_encrypt(text: str) -> str:
    return PREFIX + cipher().encrypt(text.encode()).decode("ascii")


def mfa_decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption was on; migration 0005 encrypts these
    try:
        return cipher().decrypt(stored[len(PREFIX):].encode("ascii")).decode()
    except InvalidToken:
        raise RuntimeError("An MFA secret cannot be decrypted: is MFA_ENCRYPTION_KEY the key it was "
                           "stored with (or still in the list)?") from None


def is_encrypted(stored: str) -> bool:
    return isinstance(stored, str) and stored.startswith(PREFIX)
