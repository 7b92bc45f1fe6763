"""Security state never depends on an evictable or reachable cache (issue 8, items 2, 3 and 6).

Revocations and identities live in the ``security`` cache alias with the database as their
source of truth; login attempts are counted in the database, before the password is checked.
"""

import socket
import threading
import time

import pytest
from django.core.cache import caches
from django.db import connection

from identity import caching
from identity.models import AttemptCounter
from identity.services.tokens import family_revoke, token_pair_issue
from tests.identity.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
JUNK = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.{}"


def _small_security_cache(settings, location: str, entries: int = 10) -> None:
    settings.CACHES = {**settings.CACHES, "security": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": location,
        "TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": entries}}}


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_a_flood_of_junk_and_logouts_cannot_bring_a_logged_out_token_back(api_client, user, bearer, settings,
                                                                          backend):
    """The review's attack: ~420 junk Bearer requests and ~300 logouts evicted the revocation markers."""
    if backend == "redis":
        if not settings.REDIS_URL:
            pytest.skip("needs REDIS_URL")
    else:
        _small_security_cache(settings, "flood-test")
    settings.API_THROTTLING = False
    victim = token_pair_issue(user=user)
    assert api_client.post("/api/v1/auth/logout/", {"refresh": victim.refresh}, format="json",
                           **bearer(victim.access)).status_code == 200
    for n in range(320):  # junk Bearer tokens: refused, and never cached
        api_client.get("/api/v1/auth/user/", HTTP_AUTHORIZATION="Bearer " + JUNK.format(n))
    others = UserFactory()
    for _ in range(40):  # more revocations than the (small) security cache holds
        family_revoke(family_id=token_pair_issue(user=others).family_id, reason="logout")
    if backend == "redis":
        caches["security"].clear()  # whatever the eviction policy does, the worst case is: all gone
    else:
        assert caches["security"].get(caching.family_key(victim.family_id)) is None  # evicted indeed

    for path in ("/api/v1/auth/user/", "/api/v1/auth/me/export"):
        response = api_client.get(path, **bearer(victim.access))
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "token_revoked"


def test_security_state_is_not_in_the_default_cache(user):
    pair = token_pair_issue(user=user)
    family_revoke(family_id=pair.family_id, reason="logout")
    caches["default"].clear()  # a page-cache flush, the LMS's validation answers...
    assert caching.family_is_revoked(family_id=pair.family_id) is True
    assert caches["security"].get(caching.family_key(pair.family_id)) == caching.REVOKED


def test_answers_for_malformed_tokens_are_not_cached(user):
    import hashlib

    from integration.ports.identity import validate_token_cached

    tokens = [f"junk-{n}" for n in range(20)] + [JUNK.format(n) for n in range(20)]
    for token in tokens:
        assert validate_token_cached(token=token).valid is False
    security_entries = caches["security"]._cache if hasattr(caches["security"], "_cache") else {}
    assert not isinstance(security_entries, dict) or len(security_entries) == 0
    shaped_but_junk = {"tokval:" + hashlib.sha256(token.encode()).hexdigest() for token in tokens[20:]}
    malformed = {"tokval:" + hashlib.sha256(token.encode()).hexdigest() for token in tokens[:20]}
    assert caches["default"].get_many(list(malformed)) == {}
    assert len(shaped_but_junk) == 20  # well-formed junk may be cached by the LMS (its own alias), never here


# --- a Redis outage ------------------------------------------------------------------------------

class _BlackHole:
    """A TCP port that accepts connections and never answers: a hung Redis."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["down", "hung"])
def redis_outage(request, settings):
    hole = _BlackHole() if request.param == "hung" else None
    url = f"redis://127.0.0.1:{hole.port if hole else _closed_port()}/0"
    options = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}
    tolerant = {"BACKEND": "integration.cache.TolerantRedisCache", "LOCATION": url, "OPTIONS": options}
    settings.CACHES = {"default": {**tolerant, "KEY_PREFIX": "t"}, "security": {**tolerant, "KEY_PREFIX": "s"}}
    settings.CACHE_OUTAGE_RETRY_SECONDS = 5
    yield request.param
    if hole:
        hole.close()


def test_with_redis_down_or_hung_the_api_answers_and_security_state_stays_right(
        api_client, bearer, redis_outage, settings):
    users = [UserFactory(verified=True) for _ in range(5)]
    revoked = token_pair_issue(user=users[0])
    family_revoke(family_id=revoked.family_id, reason="logout")
    started = time.monotonic()
    assert api_client.get("/api/v1/auth/user/", **bearer(revoked.access)).status_code == 401
    for user in users[1:]:
        pair = token_pair_issue(user=user)
        assert api_client.get("/api/v1/auth/user/", **bearer(pair.access)).status_code == 200
        deleted = api_client.delete("/api/v1/auth/me", {"password": PASSWORD}, format="json",
                                    **bearer(pair.access))
        assert deleted.status_code == 204, deleted.content
        assert api_client.get("/api/v1/auth/user/", **bearer(pair.access)).status_code == 401
    # One short socket timeout, then the cache is skipped for CACHE_OUTAGE_RETRY_SECONDS: no 5 s hangs.
    assert time.monotonic() - started < 4


# --- login attempts: counted atomically, before the password is checked -----------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifteen_concurrent_wrong_passwords_are_fifteen_attempts_and_at_most_five_are_checked(settings):
    from identity.services import login as login_service

    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 5
    settings.IDENTITY_LOGIN_FAILURES_PER_ADDRESS = 1000
    user = UserFactory(verified=True)
    checked, lock = [], threading.Lock()
    real_authenticate = login_service.authenticate

    def counting_authenticate(request, **credentials):
        with lock:
            checked.append(1)
        return real_authenticate(request, **credentials)

    barrier = threading.Barrier(15)
    answers = []

    def attempt():
        from rest_framework.test import APIClient

        try:
            barrier.wait()
            response = APIClient().post("/api/v1/auth/login/", {"email": user.email, "password": "wrong-one-1"},
                                        format="json")
            with lock:
                answers.append(response.status_code)
        finally:
            connection.close()

    login_service.authenticate = counting_authenticate
    try:
        threads = [threading.Thread(target=attempt) for _ in range(15)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        login_service.authenticate = real_authenticate

    assert sorted(answers) == [400] * 5 + [429] * 10
    assert len(checked) == 5
    account = AttemptCounter.objects.exclude(key__startswith="idn:addr:").get(key__startswith="idn:acct:")
    assert account.attempts == 15


def test_attempts_are_counted_before_the_password_is_checked(api_client, user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    answers = [api_client.post("/api/v1/auth/login/", {"email": user.email, "password": "wrong-one-1"},
                               format="json").status_code for _ in range(5)]
    assert answers == [400, 400, 400, 429, 429]
    assert AttemptCounter.objects.get(key__startswith="idn:acct:").attempts == 5
    locked = api_client.post("/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert locked.status_code == 429 and locked["Retry-After"]


def test_the_lockout_survives_a_cache_flush(api_client, user, settings, empty_cache):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        api_client.post("/api/v1/auth/login/", {"email": user.email, "password": "wrong-one-1"}, format="json")
    empty_cache()
    locked = api_client.post("/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert locked.status_code == 429


def test_the_login_page_counts_before_checking_too(client, user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 2
    for _ in range(3):
        client.post("/account/login/", {"login": user.email, "password": "wrong-one-1"})
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many failed sign-in attempts" in response.content.decode()



@pytest.mark.parametrize("policy, warned", [("allkeys-lru", True), ("noeviction", True), ("volatile-lru", False)])
def test_readyz_warns_about_a_redis_eviction_policy_that_can_drop_queued_messages(client, settings, monkeypatch,
                                                                                  policy, warned):
    import redis

    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    monkeypatch.setattr(redis.Redis, "ping", lambda self: True)
    monkeypatch.setattr(redis.Redis, "config_get", lambda self, name: {"maxmemory-policy": policy})
    body = client.get("/readyz").json()
    assert ("redis_eviction_policy" in body.get("warnings", {})) is warned, body
