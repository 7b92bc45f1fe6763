"""integration.throttle's database store: attempts and lockouts as rows, counted under a row lock.

Registered in IdentityConfig.ready(), so every login form of this deployment (the
store's, the legacy LMS login in the monolith, the service-token exchange) counts
here: nothing is lost when a cache evicts or goes away, and concurrent attempts
on one key are serialised by the row lock (``SELECT … FOR UPDATE``; SQLite locks
the whole database for the write instead).
"""

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F

from identity.models import AttemptCounter
from integration.throttle import AttemptLimit


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def _wait(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


class DatabaseAttemptStore:
    def _rows(self, limits: Sequence[AttemptLimit], *, now: datetime) -> dict[str, AttemptCounter]:
        """The counters of these keys, created if missing, locked, their expired windows restarted."""
        keys = sorted({limit.key for limit in limits})  # one lock order everywhere: no deadlocks
        windows = {limit.key: limit.window_seconds for limit in limits}
        AttemptCounter.objects.bulk_create(
            [AttemptCounter(key=key, attempts=0, window_ends_at=now + timedelta(seconds=windows[key]))
             for key in keys], ignore_conflicts=True)
        rows = {row.key: row for row in AttemptCounter.objects.select_for_update().filter(key__in=keys)
                .order_by("key")}
        for key, row in rows.items():
            if row.window_ends_at <= now and not (row.locked_until and row.locked_until > now):
                row.attempts, row.locked_until = 0, None
                row.window_ends_at = now + timedelta(seconds=windows[key])
        return rows

    @transaction.atomic
    def begin(self, limits, *, now):
        at = _at(now)
        rows = self._rows(limits, now=at)
        wait = 0
        for limit in limits:
            row = rows[limit.key]
            row.attempts += 1
            if row.locked_until and row.locked_until > at:
                wait = max(wait, _wait(row.locked_until, at))
            elif row.attempts >= limit.limit:
                # This attempt is checked and starts the next lockout, so those behind it wait.
                row.locked_until = at + timedelta(seconds=limit.lockout_after(row.attempts))
        AttemptCounter.objects.bulk_update(rows.values(), ["attempts", "window_ends_at", "locked_until"])
        return wait

    @transaction.atomic
    def fail(self, limits, *, now):
        at = _at(now)
        rows = self._rows(limits, now=at)
        for limit in limits:
            row = rows[limit.key]
            row.attempts += 1
            if row.attempts >= limit.limit:
                row.locked_until = at + timedelta(seconds=limit.lockout_after(row.attempts))
        AttemptCounter.objects.bulk_update(rows.values(), ["attempts", "window_ends_at", "locked_until"])

    def locked_for(self, limits, *, now):
        at = _at(now)
        until = (AttemptCounter.objects.filter(key__in=[limit.key for limit in limits], locked_until__gt=at)
                 .order_by("-locked_until").values_list("locked_until", flat=True).first())
        return _wait(until, at) if until else 0

    def clear(self, limits):
        AttemptCounter.objects.filter(key__in=[limit.key for limit in limits]).delete()

    @transaction.atomic
    def release(self, limits):
        for limit in limits:
            AttemptCounter.objects.filter(key=limit.key, attempts__gt=0).update(attempts=F("attempts") - 1)
            # The lockout this very attempt started (it reached the limit) goes with it.
            AttemptCounter.objects.filter(key=limit.key, attempts__lt=limit.limit).update(locked_until=None)

    def attempts(self, limit):
        return AttemptCounter.objects.filter(key=limit.key).values_list("attempts", flat=True).first() or 0


def purge_expired(*, now: datetime) -> int:
    """Rows whose window and lockout are both over (the periodic clean-up)."""
    deleted, _ = AttemptCounter.objects.filter(window_ends_at__lte=now).exclude(locked_until__gt=now).delete()
    return deleted
