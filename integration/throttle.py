"""Failed attempts counted per key in the cache, with a lockout: the one mechanism behind every login form.

Each :class:`AttemptLimit` names a key (an account, an address, a client id,
already hashed by the caller where it is personal data), how many failures its
window allows, and how long the lockout lasts once the limit is reached: a fixed
time, or doubling with each further failure up to a ceiling. A locked key is
refused before any password is checked.
"""

import hashlib
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class AttemptLimit:
    key: str
    limit: int
    window_seconds: int
    lockout_seconds: int
    # None: every lockout lasts lockout_seconds; else it doubles per further failure up to this.
    lockout_max_seconds: int | None = None

    @property
    def count_key(self) -> str:
        return f"throttle:count:{self.key}"

    @property
    def lock_key(self) -> str:
        return f"throttle:lock:{self.key}"

    def lockout_after(self, failures: int) -> int:
        if self.lockout_max_seconds is None:
            return self.lockout_seconds
        return min(self.lockout_seconds * 2 ** (failures - self.limit), self.lockout_max_seconds)


def hashed(value: str) -> str:
    """A cache-key fragment that keeps an email or address out of the cache in clear."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def attempts_locked_for(limits: Iterable[AttemptLimit], *, now: float | None = None) -> int:
    """Seconds until every key is free again; 0 when none is locked."""
    locks = cache.get_many([limit.lock_key for limit in limits])
    if not locks:
        return 0
    return max(0, math.ceil(max(locks.values()) - (now if now is not None else time.time())))


def attempt_failed(limits: Iterable[AttemptLimit], *, now: float | None = None) -> None:
    now = now if now is not None else time.time()
    for limit in limits:
        failures = _increment(limit.count_key, window_seconds=limit.window_seconds)
        if failures >= limit.limit:
            lockout = limit.lockout_after(failures)
            cache.set(limit.lock_key, now + lockout, int(lockout) + 1)


def attempts_clear(limits: Iterable[AttemptLimit]) -> None:
    cache.delete_many([key for limit in limits for key in (limit.count_key, limit.lock_key)])


def _increment(key: str, *, window_seconds: int) -> int:
    # incr() keeps the expiry that add() set when the window opened.
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, window_seconds):
            return 1
        return cache.incr(key)
