"""Payout details at rest: MultiFernet over ``PAYOUT_ENCRYPTION_KEYS`` (the first encrypts, every key decrypts).

A key is a Fernet key (``Fernet.generate_key()``) or any other secret string, which
is stretched to one with SHA-256 (the embedded default's random secret in ``var/``).
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from payouts.errors import EncryptionKeyMissingError


def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def _cipher() -> MultiFernet:
    keys = [key for key in settings.PAYOUT_ENCRYPTION_KEYS if key]
    if not keys:
        raise EncryptionKeyMissingError()
    return MultiFernet([_fernet(key) for key in keys])


def encrypt_json(value: dict) -> str:
    return _cipher().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    return json.loads(_cipher().decrypt(token.encode()))


def encrypt_text(value: str) -> str:
    return _cipher().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    return _cipher().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same secret re-encrypted under the first key (MultiFernet.rotate)."""
    return _cipher().rotate(token.encode()).decode()


__all__ = ["InvalidToken", "decrypt_json", "decrypt_text", "encrypt_json", "encrypt_text", "rotate"]
