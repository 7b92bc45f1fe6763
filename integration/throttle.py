"""Failed attempts counted per key, with a lockout: the one mechanism behind every login form.

Each :class:`AttemptLimit` names a key (an account, an address, a client id,
already hashed by the caller where it is personal data), how many attempts its
window allows, and how long the lockout lasts once the limit is reached: a fixed
time, or doubling with each further attempt up to a ceiling.

**Counted before verifying.** :func:`attempt_begin` counts the attempt on every
key atomically *before* the secret is checked, and refuses it (without checking)
when a key is locked; the attempt that reaches a key's limit starts its lockout
in the same step. So N concurrent wrong passwords are N attempts, and no more than
the limit of them are ever verified. A verified success calls
:func:`attempt_succeeded`: the account's count is cleared, and the attempt is
taken back from the address's count (a busy office is not locked out by its
own good sign-ins).

**Where the counts live.** In a store: the database store that identity
registers (``identity/throttle_store.py``: one row per key, counted under a row
lock, so nothing is lost to cache eviction or a Redis outage), else, in a
deployment without identity, :class:`CacheAttemptStore` on the ``security`` cache
alias (atomic ``add``/``incr``).
"""

import hashlib
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.core.cache import caches


@dataclass(frozen=True)
class AttemptLimit:
    key: str
    limit: int
    window_seconds: int
    lockout_seconds: int
    # None: every lockout lasts lockout_seconds; else it doubles per further attempt up to this.
    lockout_max_seconds: int | None = None

    @property
    def count_key(self) -> str:
        return f"throttle:count:{self.key}"

    @property
    def lock_key(self) -> str:
        return f"throttle:lock:{self.key}"

    def lockout_after(self, attempts: int) -> int:
        if self.lockout_max_seconds is None:
            return self.lockout_seconds
        return min(self.lockout_seconds * 2 ** max(0, attempts - self.limit), self.lockout_max_seconds)


class AttemptStore(Protocol):
    def begin(self, limits: Sequence[AttemptLimit], *, now: float) -> int:
        """Counts one attempt on every key; returns 0 (go on and verify) or the seconds to wait."""

    def fail(self, limits: Sequence[AttemptLimit], *, now: float) -> None:
        """Counts one failure that was not begun with :meth:`begin` (e.g. a wrong MFA code)."""

    def locked_for(self, limits: Sequence[AttemptLimit], *, now: float) -> int:
        """Seconds until every key is free again; 0 when none is locked. Counts nothing."""

    def clear(self, limits: Sequence[AttemptLimit]) -> None: ...

    def release(self, limits: Sequence[AttemptLimit]) -> None:
        """Takes one attempt back (a begun attempt that succeeded)."""

    def attempts(self, limit: AttemptLimit) -> int: ...


class CacheAttemptStore:
    """Counts in the ``security`` cache alias: atomic (``add`` then ``incr``), but only as durable as
    that cache; used where no database store is registered."""

    @property
    def cache(self):
        return caches["security"]

    def _increment(self, limit: AttemptLimit) -> int:
        # incr() keeps the expiry that add() set when the window opened.
        if self.cache.add(limit.count_key, 1, limit.window_seconds):
            return 1
        try:
            return self.cache.incr(limit.count_key)
        except ValueError:
            self.cache.add(limit.count_key, 1, limit.window_seconds)
            return 1

    def begin(self, limits, *, now):
        wait = 0
        for limit in limits:
            attempts = self._increment(limit)
            if attempts < limit.limit:
                continue
            # The attempt that reaches the limit (or the first after a lockout ends) is checked and starts
            # the next lockout; add() lets exactly one of several concurrent attempts do so.
            lockout = limit.lockout_after(attempts)
            if self.cache.add(limit.lock_key, now + lockout, int(lockout) + 1):
                continue
            until = self.cache.get(limit.lock_key)
            if until is not None and until <= now:  # a lockout that has just ended: replace it
                self.cache.delete(limit.lock_key)
                if self.cache.add(limit.lock_key, now + lockout, int(lockout) + 1):
                    continue
                until = self.cache.get(limit.lock_key)
            wait = max(wait, math.ceil((until or now + 1) - now), 1)
        return wait

    def fail(self, limits, *, now):
        for limit in limits:
            attempts = self._increment(limit)
            if attempts >= limit.limit:
                lockout = limit.lockout_after(attempts)
                self.cache.set(limit.lock_key, now + lockout, int(lockout) + 1)

    def locked_for(self, limits, *, now):
        locks = self.cache.get_many([limit.lock_key for limit in limits])
        if not locks:
            return 0
        return max(0, math.ceil(max(locks.values()) - now))

    def clear(self, limits):
        self.cache.delete_many([key for limit in limits for key in (limit.count_key, limit.lock_key)])

    def release(self, limits):
        for limit in limits:
            try:
                remaining = self.cache.decr(limit.count_key)
            except ValueError:
                continue
            if remaining < limit.limit:
                self.cache.delete(limit.lock_key)  # the lockout this very attempt started

    def attempts(self, limit):
        return int(self.cache.get(limit.count_key) or 0)


_store: AttemptStore | None = None


def attempt_store_register(store: AttemptStore) -> None:
    """Called by identity's ``AppConfig.ready()`` with its database store."""
    global _store
    _store = store


def attempt_store() -> AttemptStore:
    return _store if _store is not None else CacheAttemptStore()


def hashed(value: str) -> str:
    """A key fragment that keeps an email or address out of the store in clear."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def _now(now: float | None) -> float:
    return now if now is not None else time.time()


def attempt_begin(limits: Iterable[AttemptLimit], *, now: float | None = None) -> int:
    """Counts this attempt before the secret is checked. 0: check it; else refuse it, and this many
    seconds remain of the lockout."""
    return attempt_store().begin(list(limits), now=_now(now))


def attempt_succeeded(*, clear: Iterable[AttemptLimit] = (), release: Iterable[AttemptLimit] = ()) -> None:
    """After a verified success: ``clear`` resets those keys (the account), ``release`` takes this
    attempt back from theirs (the address)."""
    store = attempt_store()
    clear, release = list(clear), list(release)
    if clear:
        store.clear(clear)
    if release:
        store.release(release)


def attempts_locked_for(limits: Iterable[AttemptLimit], *, now: float | None = None) -> int:
    """Seconds until every key is free again; 0 when none is locked. Counts nothing."""
    return attempt_store().locked_for(list(limits), now=_now(now))


def attempt_failed(limits: Iterable[AttemptLimit], *, now: float | None = None) -> None:
    """Counts a failure that was not begun with :func:`attempt_begin`."""
    attempt_store().fail(list(limits), now=_now(now))


def attempts_clear(limits: Iterable[AttemptLimit]) -> None:
    attempt_store().clear(list(limits))
