"""Identity benchmark: token validation (in process and over HTTP) and Argon2id hashing time.

    python bench/bench_identity.py [--calls 10000] [--no-http]

Runs on a throwaway SQLite database in a temporary VAR_DIR (its own signing keys
too), or on DATABASE_URL when that is set (point it at a scratch database: the
benchmark migrates it and adds a user); the cache is whatever REDIS_URL says
(the per-process default without it).
Over HTTP it starts gunicorn (``--no-control-socket -w 2``) on a free port
serving config.wsgi and calls ``POST /api/v1/auth/validate-token`` with a
service token, one request at a time. Exits 1 if an Argon2id hash takes 100 ms
or more (p50).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ARGON2_BUDGET_MS = 100.0


def percentile(samples_ns: list[int], fraction: float) -> float:
    ordered = sorted(samples_ns)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index] / 1e6


def summary(samples_ns: list[int]) -> str:
    return f"p50 {percentile(samples_ns, 0.50):.3f} ms, p99 {percentile(samples_ns, 0.99):.3f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_django(var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["VAR_DIR"] = var_dir
    os.environ["API_THROTTLING"] = "off"
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_in_process(access: str, calls: int) -> tuple[list[int], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from identity.caching import revocations_warm
    from integration import registry

    validate = registry.get_provider("identity.validate_token")
    revocations_warm()
    assert validate(token=access)["valid"]
    samples = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(calls):
            start = time.perf_counter_ns()
            validate(token=access)
            samples.append(time.perf_counter_ns() - start)
    return samples, len(queries)


def bench_database_read(user_id, calls: int) -> list[int]:
    from identity.models import User

    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        User.objects.filter(pk=user_id).values("id", "email", "is_active").first()
        samples.append(time.perf_counter_ns() - start)
    return samples


def bench_http(access: str, service_token: str, calls: int, var_dir: str) -> tuple[list[int], list[int]]:
    import requests

    port = free_port()
    env = {**os.environ, "VAR_DIR": var_dir, "PYTHONPATH": str(BASE_DIR)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--no-control-socket", "-w", "2",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start: " + server.stderr.read1().decode(errors="replace"))
        session = requests.Session()
        url, headers = f"{base}/api/v1/auth/validate-token", {"Authorization": f"Bearer {service_token}"}
        body = {"token": access}
        for _ in range(200):  # warm both workers' caches and code paths
            answer = session.post(url, json=body, headers=headers, timeout=5)
            assert answer.status_code == 200 and answer.json()["valid"], answer.text
        samples = []
        for _ in range(calls):
            start = time.perf_counter_ns()
            session.post(url, json=body, headers=headers, timeout=5)
            samples.append(time.perf_counter_ns() - start)
        floor = []  # the same server answering /healthz: what any request costs before the view runs
        for _ in range(min(calls, 2000)):
            start = time.perf_counter_ns()
            session.get(f"{base}/healthz", timeout=5)
            floor.append(time.perf_counter_ns() - start)
        return samples, floor
    finally:
        server.terminate()
        server.wait(timeout=10)


def bench_argon2(rounds: int = 20) -> tuple[list[int], list[int], str]:
    from django.conf import settings
    from django.contrib.auth.hashers import check_password, get_hasher, make_password

    hasher = get_hasher()
    encoded = make_password("demo-pass-123")
    hashing, checking = [], []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        make_password("demo-pass-123")
        hashing.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        assert check_password("demo-pass-123", encoded)
        checking.append(time.perf_counter_ns() - start)
    params = (f"{hasher.algorithm} (argon2id), t={settings.ARGON2_TIME_COST}, m={settings.ARGON2_MEMORY_KIB} KiB, "
              f"p={settings.ARGON2_PARALLELISM}")
    return hashing, checking, params


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-identity-") as var_dir:
        setup_django(var_dir)
        from django.conf import settings

        from identity.models import User
        from identity.services.tokens import token_pair_issue
        from integration.service_auth import mint_service_token

        user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:12]}@example.com", "bench-pass-123456")
        access = token_pair_issue(user=user).access
        cache_name = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"identity benchmark ({args.calls} calls each; cache: {cache_name}; "
              f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")

        samples, queries = bench_in_process(access, args.calls)
        print(f"  validate-token in process, warm cache:  {summary(samples)}  ({queries} database queries)")
        print(f"  a database read, for comparison:         {summary(bench_database_read(user.pk, 2000))}")
        if not args.no_http:
            service_token = mint_service_token(client_id="bench", scopes=["tokens:validate"], ttl_seconds=3600)
            http, floor = bench_http(access, service_token, args.calls, var_dir)
            print(f"  validate-token over HTTP (gunicorn -w 2, one client, sequential): {summary(http)}")
            print(f"  GET /healthz on the same server, for comparison: {summary(floor)}")

        hashing, checking, params = bench_argon2()
        hash_p50, check_p50 = statistics.median(hashing) / 1e6, statistics.median(checking) / 1e6
        print(f"  password hashing, {params}: make_password p50 {hash_p50:.1f} ms, "
              f"check_password p50 {check_p50:.1f} ms (budget {ARGON2_BUDGET_MS:.0f} ms)")
        if max(hash_p50, check_p50) >= ARGON2_BUDGET_MS:
            print("  FAIL: Argon2id is over budget; lower ARGON2_TIME_COST or ARGON2_MEMORY_KIB", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
