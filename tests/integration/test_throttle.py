"""The failed-attempt throttle both login forms use: counts per key, fixed or growing lockouts."""

from integration.throttle import AttemptLimit, attempt_failed, attempts_clear, attempts_locked_for, hashed

NOW = 1_800_000_000.0


def test_a_fixed_lockout_starts_at_the_limit_and_lasts_its_time():
    limit = AttemptLimit(key="t:fixed", limit=3, window_seconds=300, lockout_seconds=300)
    for _ in range(2):
        attempt_failed([limit], now=NOW)
    assert attempts_locked_for([limit], now=NOW) == 0
    attempt_failed([limit], now=NOW)
    assert attempts_locked_for([limit], now=NOW) == 300
    attempt_failed([limit], now=NOW)
    assert attempts_locked_for([limit], now=NOW) == 300  # does not grow


def test_a_growing_lockout_doubles_up_to_its_ceiling():
    limit = AttemptLimit(key="t:grow", limit=2, window_seconds=3600, lockout_seconds=30, lockout_max_seconds=100)
    waits = []
    for _ in range(5):
        attempt_failed([limit], now=NOW)
        waits.append(attempts_locked_for([limit], now=NOW))
    assert waits == [0, 30, 60, 100, 100]


def test_any_locked_key_locks_and_clearing_one_key_leaves_the_other():
    account = AttemptLimit(key=f"t:acct:{hashed('Ada@Example.com ')}", limit=1, window_seconds=60, lockout_seconds=60)
    address = AttemptLimit(key="t:addr:203.0.113.9", limit=5, window_seconds=60, lockout_seconds=60)
    attempt_failed([account, address], now=NOW)
    assert attempts_locked_for([account, address], now=NOW) == 60
    attempts_clear([account])
    assert attempts_locked_for([account, address], now=NOW) == 0
    assert hashed("ada@example.com") == hashed(" ADA@example.com") and "ada" not in account.key
