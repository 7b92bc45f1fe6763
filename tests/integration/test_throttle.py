"""The failed-attempt throttle every login form uses: attempts counted before verifying, fixed or growing
lockouts, on both stores (identity's database store, registered in this deployment, and the cache store
a deployment without identity uses)."""

import pytest
from django.core.cache import caches

from integration import throttle
from integration.throttle import (
    AttemptLimit,
    CacheAttemptStore,
    attempt_begin,
    attempt_failed,
    attempt_succeeded,
    attempts_clear,
    attempts_locked_for,
    hashed,
)

NOW = 1_800_000_000.0
pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", "cache"])
def store(request):
    """Runs each test on both stores."""
    registered = throttle.attempt_store()
    if request.param == "cache":
        caches["security"].clear()
        throttle.attempt_store_register(CacheAttemptStore())
    yield throttle.attempt_store()
    throttle.attempt_store_register(registered)


def test_the_database_store_is_the_one_registered_here():
    from identity.throttle_store import DatabaseAttemptStore

    assert isinstance(throttle.attempt_store(), DatabaseAttemptStore)


def test_a_fixed_lockout_starts_at_the_limit_and_lasts_its_time(store):
    limit = AttemptLimit(key="t:fixed", limit=3, window_seconds=300, lockout_seconds=300)
    for _ in range(2):
        attempt_failed([limit], now=NOW)
    assert attempts_locked_for([limit], now=NOW) == 0
    attempt_failed([limit], now=NOW)
    assert attempts_locked_for([limit], now=NOW) == 300
    attempt_failed([limit], now=NOW)
    assert attempts_locked_for([limit], now=NOW) == 300  # does not grow


def test_a_growing_lockout_doubles_up_to_its_ceiling(store):
    limit = AttemptLimit(key="t:grow", limit=2, window_seconds=3600, lockout_seconds=30, lockout_max_seconds=100)
    waits = []
    for _ in range(5):
        attempt_failed([limit], now=NOW)
        waits.append(attempts_locked_for([limit], now=NOW))
    assert waits == [0, 30, 60, 100, 100]


def test_any_locked_key_locks_and_clearing_one_key_leaves_the_other(store):
    account = AttemptLimit(key=f"t:acct:{hashed('Ada@Example.com ')}", limit=1, window_seconds=60, lockout_seconds=60)
    address = AttemptLimit(key="t:addr:203.0.113.9", limit=5, window_seconds=60, lockout_seconds=60)
    attempt_failed([account, address], now=NOW)
    assert attempts_locked_for([account, address], now=NOW) == 60
    attempts_clear([account])
    assert attempts_locked_for([account, address], now=NOW) == 0
    assert hashed("ada@example.com") == hashed(" ADA@example.com") and "ada" not in account.key


def test_attempts_are_counted_before_verifying_and_none_past_the_limit_is_let_through(store):
    """Every attempt counts, whether or not it was verified; the one reaching the limit is the last checked."""
    limit = AttemptLimit(key="t:begin", limit=5, window_seconds=600, lockout_seconds=30, lockout_max_seconds=900)
    let_through = [attempt_begin([limit], now=NOW) == 0 for _ in range(15)]
    assert let_through == [True] * 5 + [False] * 10
    assert store.attempts(limit) == 15
    assert attempts_locked_for([limit], now=NOW) == 30


def test_after_a_lockout_one_attempt_is_checked_and_the_next_lockout_is_longer(store):
    limit = AttemptLimit(key="t:after", limit=2, window_seconds=3600, lockout_seconds=30, lockout_max_seconds=900)
    assert [attempt_begin([limit], now=NOW) for _ in range(3)] == [0, 0, 30]
    later = NOW + 31
    assert attempt_begin([limit], now=later) == 0  # the 4th attempt: checked, and it starts 30 * 2^2
    assert attempt_begin([limit], now=later) == 120


def test_a_success_clears_the_account_and_takes_its_attempt_back_from_the_address(store):
    account = AttemptLimit(key="t:ok:acct", limit=3, window_seconds=600, lockout_seconds=60)
    address = AttemptLimit(key="t:ok:addr", limit=3, window_seconds=600, lockout_seconds=60)
    attempt_begin([account, address], now=NOW)
    attempt_begin([account, address], now=NOW)
    assert attempt_begin([account, address], now=NOW) == 0  # the third reaches both limits: checked
    attempt_succeeded(clear=[account], release=[address])  # ... and it was the right password
    assert store.attempts(account) == 0 and store.attempts(address) == 2
    assert attempts_locked_for([account, address], now=NOW) == 0
    assert attempt_begin([account, address], now=NOW) == 0
