"""Password hashers: Argon2id tuned for this hardware, and raw bcrypt from the legacy LMS.

Both keep Django's algorithm names ("argon2", "bcrypt"), so stored hashes stay
readable by stock Django and a change of cost only re-hashes on the next login.
"""

import re

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, BCryptPasswordHasher

BCRYPT_MAX_BYTES = 72
RAW_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id with costs from settings (defaults: 2 passes over 32 MiB, 2 lanes: ~55 ms here)."""

    @property
    def time_cost(self) -> int:
        return settings.ARGON2_TIME_COST

    @property
    def memory_cost(self) -> int:
        return settings.ARGON2_MEMORY_KIB

    @property
    def parallelism(self) -> int:
        return settings.ARGON2_PARALLELISM


class LegacyBCryptPasswordHasher(BCryptPasswordHasher):
    """Raw bcrypt as the LMS stored it ("bcrypt$$2b$..."), for verification and upgrade on login.

    bcrypt only ever read the first 72 bytes of a password; the ``bcrypt`` library
    now refuses longer input instead of truncating, so truncate here as the
    legacy system effectively did (otherwise a long password would crash the login).
    """

    def encode(self, password, salt):
        bcrypt = self._load_library()
        data = bcrypt.hashpw(password.encode()[:BCRYPT_MAX_BYTES], salt)
        return f"{self.algorithm}${data.decode('ascii')}"


def django_hash_from_raw_bcrypt(raw: str) -> str | None:
    """``$2a$``/``$2b$``/``$2y$`` → Django's ``bcrypt$<hash>`` (``$2y$`` is PHP's name for ``$2b$``)."""
    if not RAW_BCRYPT.match(raw):
        return None
    if raw.startswith("$2y$"):
        raw = "$2b$" + raw[4:]
    return f"bcrypt${raw}"
