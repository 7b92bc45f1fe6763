"""Load benchmark: gunicorn serving the monolith on PostgreSQL, a Celery worker on Redis, loaded over HTTP.

    python bench/bench_load.py [--seconds 30] [--clients 4] [--web-workers 2] [--celery-concurrency 2]
        [--database-url postgres://postgres@127.0.0.1:5432/bench_load] [--redis-url redis://127.0.0.1:6379/10]

It drops and re-creates the PostgreSQL database named by ``--database-url`` and empties the Redis
database named by ``--redis-url`` (both are scratch), migrates, loads the demo data (``seed_demo``),
collects the static files into a temporary directory and registers a service client. Then it starts
``gunicorn config.wsgi`` (sync workers, as deploy/Procfile) and ``celery -A config worker`` (tasks
are not eager: the outbox is delivered by the worker), and loads them from this process with
``--clients`` threads, each one request at a time (a closed loop), for ``--seconds`` per scenario:

1. ``GET /healthz`` (no database): the floor any request costs on this server;
2. ``POST /api/v1/auth/validate-token`` (spec 6.1.1) with a service token;
3. ``GET /catalog/``, the storefront's catalog page, anonymous;
4. the purchase, end to end, each time by a new buyer: register, log in, add a demo course to the
   cart, check out, pay with the test gateway (``pm_card_visa``), then poll the order until the
   worker has delivered the entitlement and the order is ``completed``;
5. ``GET /healthz`` again, so the floor is known at the start and at the end.

It prints one table: requests/s (purchases/s for the purchase), p50 and p99 of each call, and
p50/p99 as a ratio to ``/healthz`` (the mean of the start and end p50/p99) on the same server in
this run; and, per scenario, the CPU used by the gunicorn workers, the Celery worker, the
PostgreSQL backends serving this database and this load generator (from /proc, as % of one core),
with the machine's own busy share, and the CPU each completed purchase cost in each; before the
load, ``--breakdown`` purchases made one at a time give each step's CPU in each group. Every
process it starts is in its own process group and is killed on exit, error or Ctrl-C. Exits 1 if
any request answered 5xx or a paid order did not complete (the server and worker logs are then
printed from their end).
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import recreate_database

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
PASSWORD = "load-bench-pass-8472"
CLK_TCK = os.sysconf("SC_CLK_TCK")
COMPLETION_TIMEOUT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.1


# --- processes ------------------------------------------------------------------------------------

class Processes:
    """The servers this benchmark starts, each in its own session (process group), all killed at the end."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.started[name] = process
        return process

    def stop_all(self) -> None:
        for process in self.started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.started.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):  # whatever is left of the group (a pool child)
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def exit_on_signal(signum, frame):  # SIGTERM/SIGHUP go through the same clean-up as Ctrl-C
    raise KeyboardInterrupt(signal.Signals(signum).name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def empty_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    answer = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, input=stdin,
                            capture_output=True, text=True)
    if answer.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{answer.stdout}\n{answer.stderr}")
    return answer.stdout


# --- CPU from /proc --------------------------------------------------------------------------------

def process_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15 of stat)


def descendants(pid: int) -> list[int]:
    """pid and every process under it (gunicorn's master and workers, Celery's and its pool)."""
    parents = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
            parents[ppid].append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuSampler:
    """Once a second: the CPU ticks of each group of processes; a pid first seen later counts from 0."""

    def __init__(self, groups: dict, interval: float = 1.0):
        self.groups = groups  # name -> callable returning the current pids
        self.interval = interval
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = None

    def _sample(self) -> None:
        now = time.monotonic()
        with self.lock:
            for name, pids_of in self.groups.items():
                seen = self.last[name]
                for pid in pids_of():
                    ticks = process_ticks(pid)
                    if ticks is None:
                        continue
                    self.used[name] += ticks - seen.get(pid, 0)
                    seen[pid] = ticks
            self.ended = now

    def start(self) -> None:
        self.last = {name: {} for name in self.groups}
        self.used = dict.fromkeys(self.groups, 0)
        for name, pids_of in self.groups.items():
            for pid in pids_of():
                ticks = process_ticks(pid)
                if ticks is not None:
                    self.last[name][pid] = ticks
        self.machine_start = machine_ticks()
        self.started = self.ended = time.monotonic()
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.wait(self.interval):
            self._sample()

    def stop(self) -> dict:
        self.stop_event.set()
        self.thread.join()
        self._sample()
        busy0, total0 = self.machine_start
        busy1, total1 = machine_ticks()
        wall = max(1e-6, self.ended - self.started)
        return {"wall": wall, "cpu_seconds": {name: ticks / CLK_TCK for name, ticks in self.used.items()},
                "machine_busy": (busy1 - busy0) / max(1, total1 - total0)}


# --- load ------------------------------------------------------------------------------------------

class Answer:
    def __init__(self, status_code: int, body: bytes):
        self.status_code = status_code
        self.text = body.decode(errors="replace")

    def json(self):
        return json.loads(self.text)


class Client:
    """One request at a time over http.client (a new connection each time: gunicorn's sync workers
    close it after every answer); much less CPU per request than a full-featured client, which counts
    on a machine where the load generator shares the cores with the servers."""

    def __init__(self, base: str):
        parsed = urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method: str, path: str, body=None, token: str | None = None) -> Answer:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            return Answer(answer.status, answer.read())
        finally:
            connection.close()

    def get(self, path: str, token: str | None = None) -> Answer:
        return self.request("GET", path, token=token)

    def post(self, path: str, body, token: str | None = None) -> Answer:
        return self.request("POST", path, body, token)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.failures: list[str] = []
        self.completed = 0
        self.completed_by_pay = 0

    def timed(self, label: str, call, *, expect: tuple[int, ...]):
        start = time.perf_counter()
        answer = call()
        elapsed_ms = (time.perf_counter() - start) * 1000
        with self.lock:
            self.samples[label].append(elapsed_ms)
            self.statuses[label][answer.status_code] += 1
            if answer.status_code not in expect and len(self.failures) < 10:
                self.failures.append(f"{label}: {answer.status_code} {answer.text[:300]}")
        if answer.status_code not in expect:
            raise Unexpected(label)
        return answer, elapsed_ms

    def add(self, label: str, elapsed_ms: float) -> None:
        with self.lock:
            self.samples[label].append(elapsed_ms)

    def fail(self, message: str) -> None:
        with self.lock:
            if len(self.failures) < 10:
                self.failures.append(message)


class Unexpected(Exception):
    pass


def closed_loop(base: str, clients: int, seconds: float, step) -> tuple["Recorder", float]:
    """``clients`` threads, each doing ``step(session, recorder)`` until the time is up; a step
    under way finishes (the elapsed time runs until the last one has)."""
    recorder = Recorder()
    deadline = time.monotonic() + seconds

    def client():
        session = Client(base)
        while time.monotonic() < deadline:
            try:
                step(session, recorder)
            except Unexpected:
                time.sleep(0.05)
            except (OSError, http.client.HTTPException) as exc:
                recorder.fail(f"{type(exc).__name__}: {exc}")
                time.sleep(0.05)

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return recorder, time.monotonic() - started


class StepProbe:
    """CPU ticks of web, worker and PostgreSQL between the steps of one purchase at a time (one
    client, nothing else of ours running): where a purchase's CPU goes, step by step."""

    def __init__(self, groups: dict):
        self.groups = {name: pids_of for name, pids_of in groups.items() if name != "loadgen"}
        self.cpu: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.wall: dict[str, list[float]] = defaultdict(list)

    def _ticks(self) -> dict[str, dict[int, int]]:
        return {name: {pid: process_ticks(pid) for pid in pids} for name, pids in self.pids.items()}

    def __call__(self, label: str | None) -> None:
        now = time.perf_counter()
        if label is None:  # a purchase starts: the processes as they are now
            self.pids = {name: pids_of() for name, pids_of in self.groups.items()}
        else:
            ticks = self._ticks()
            for name, by_pid in ticks.items():  # a process gone in between (a closed backend) counts 0
                self.cpu[label][name] += sum(value - self.last[name][pid] for pid, value in by_pid.items()
                                             if value is not None and self.last[name].get(pid) is not None)
            self.wall[label].append((now - self.at) * 1000)
        self.last, self.at = self._ticks(), time.perf_counter()


class Scenarios:
    def __init__(self, service_token: str, access: str, product_id: str):
        self.service_token = service_token
        self.access = access
        self.product_id = product_id
        self.buyers = itertools.count()
        self.run_id = secrets.token_hex(4)

    def healthz(self, client, recorder):
        recorder.timed("GET /healthz", lambda: client.get("/healthz"), expect=(200,))

    def validate_token(self, client, recorder):
        answer, _ = recorder.timed("POST validate-token", lambda: client.post(
            "/api/v1/auth/validate-token", {"token": self.access}, token=self.service_token), expect=(200,))
        if not answer.json().get("valid"):
            recorder.fail(f"validate-token: not valid: {answer.text[:200]}")

    def catalog_page(self, client, recorder):
        recorder.timed("GET /catalog/", lambda: client.get("/catalog/"), expect=(200,))

    def purchase(self, client, recorder, probe=lambda label: None):
        email = f"load-{self.run_id}-{next(self.buyers)}@example.com"
        probe(None)
        started = time.perf_counter()
        recorder.timed("register", lambda: client.post("/api/v1/auth/registration/", {
            "email": email, "password1": PASSWORD, "password2": PASSWORD}), expect=(201,))
        probe("register")
        login, _ = recorder.timed("login", lambda: client.post(
            "/api/v1/auth/login/", {"email": email, "password": PASSWORD}), expect=(200,))
        access = login.json()["access"]
        probe("login")
        _, cart_ms = recorder.timed("POST cart/items", lambda: client.post(
            "/api/v1/cart/items/", {"productId": self.product_id}, token=access), expect=(200, 201))
        probe("POST cart/items")
        checkout, checkout_ms = recorder.timed("POST checkout", lambda: client.post(
            "/api/v1/checkout/", {}, token=access), expect=(200, 201))
        order_id = checkout.json()["orderId"]
        probe("POST checkout")
        paid_at = time.perf_counter()
        paid, pay_ms = recorder.timed("POST pay", lambda: client.post(
            f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"}, token=access), expect=(200,))
        probe("POST pay")
        recorder.add("purchase API (cart+checkout+pay)", cart_ms + checkout_ms + pay_ms)
        status = paid.json().get("status")
        if status == "completed":
            with recorder.lock:
                recorder.completed_by_pay += 1
        give_up = time.monotonic() + COMPLETION_TIMEOUT_SECONDS
        while status != "completed":
            if status != "paid" or time.monotonic() > give_up:
                recorder.fail(f"order {order_id}: {status} {time.perf_counter() - paid_at:.1f} s after paying")
                raise Unexpected("purchase")
            time.sleep(POLL_INTERVAL_SECONDS)
            polled, _ = recorder.timed("GET order (poll)", lambda: client.get(
                f"/api/v1/orders/{order_id}/", token=access), expect=(200,))
            status = polled.json().get("status")
        now = time.perf_counter()
        probe("paid → completed")
        recorder.add("pay → completed", (now - paid_at) * 1000)
        recorder.add("purchase end to end", (now - started) * 1000)
        with recorder.lock:
            recorder.completed += 1


# --- the run ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per scenario (default 30)")
    parser.add_argument("--healthz-seconds", type=float, default=None, help="/healthz at start and end "
                        "(default: --seconds / 2)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client threads (default 4)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--celery-concurrency", type=int, default=2, help="Celery prefork pool (default 2)")
    parser.add_argument("--breakdown", type=int, default=20,
                        help="purchases by one client first, timing each step's CPU (default 20; 0: none)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_LOAD_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_LOAD_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--keep-logs", action="store_true", help="keep the temporary directory with the logs")
    args = parser.parse_args()
    healthz_seconds = args.healthz_seconds or max(5.0, args.seconds / 2)

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, exit_on_signal)
    signal.signal(signal.SIGHUP, exit_on_signal)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    processes = Processes(work_dir)
    try:
        return run(args, healthz_seconds, work_dir, processes)
    except KeyboardInterrupt as exc:
        print(f"\ninterrupted ({str(exc) or 'SIGINT'}): stopping the servers", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
        if args.keep_logs:
            print(f"logs kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def run(args, healthz_seconds: float, work_dir: Path, processes: Processes) -> int:
    load_before = os.getloadavg()
    print(f"load benchmark: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before the run")
    recreate_database(args.database_url)
    empty_redis(args.redis_url)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(BASE_DIR),
           "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "VAR_DIR": str(work_dir / "var"),
           "STATIC_ROOT": str(work_dir / "static"), "API_THROTTLING": "off", "LOG_LEVEL": "WARNING",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "DEBUG": "false"}
    for name in ("STRIPE_SECRET_KEY", "SERVICE_ROLE", "INTEGRATION_FORCE_HTTP"):
        env.pop(name, None)  # the test gateway, the monolith, in-process ports
    (work_dir / "var").mkdir()
    print("  migrating, seeding, collecting static files ...", flush=True)
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "seed_demo")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    client_secret = secrets.token_urlsafe(24)
    manage(env, "create_service_client", "bench-load", "--secret-stdin", "--scope", "tokens:validate",
           stdin=client_secret)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = processes.start("gunicorn", [
        sys.executable, "-m", "gunicorn", "config.wsgi", "--no-control-socket", "--workers", str(args.web_workers),
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"], env)
    celery = processes.start("celery", [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING", "--without-gossip",
        "--without-mingle", "--concurrency", str(args.celery_concurrency)], env)
    client = Client(base)
    wait_for(client, processes)

    import psycopg

    monitor = psycopg.connect(args.database_url, autocommit=True)
    monitor_pid = monitor.execute("SELECT pg_backend_pid()").fetchone()[0]
    database = urlparse(args.database_url).path.lstrip("/")

    def postgres_pids():
        rows = monitor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                               (database, monitor_pid)).fetchall()
        return [row[0] for row in rows]

    groups = {"web": lambda: descendants(gunicorn.pid), "worker": lambda: descendants(celery.pid),
              "postgres": postgres_pids, "loadgen": lambda: [os.getpid()]}

    exchange = client.post("/api/v2/auth/service-token", {
        "clientId": "bench-load", "clientSecret": client_secret, "scope": ["tokens:validate"]})
    login = client.post("/api/v1/auth/login/", {"email": "learner@example.com", "password": "demo-pass-123"})
    if exchange.status_code != 200 or login.status_code != 200:
        raise RuntimeError(f"service token {exchange.status_code} {exchange.text[:300]}; "
                           f"login {login.status_code} {login.text[:300]}")
    product_id, product_label = demo_product(client)
    scenarios = Scenarios(exchange.json()["accessToken"], login.json()["access"], product_id)

    print(f"  warming up (gunicorn -w {args.web_workers}, celery --concurrency {args.celery_concurrency}) ...",
          flush=True)
    warm = Recorder()
    try:
        for _ in range(2):  # purchases through the worker, and every code path in each web worker
            scenarios.purchase(client, warm)
            for step in (scenarios.healthz, scenarios.validate_token, scenarios.catalog_page):
                for _ in range(args.web_workers * 3):
                    step(client, warm)
    except Unexpected:
        pass
    if warm.failures:
        raise RuntimeError("warm-up failed: " + "; ".join(warm.failures) + "\n--- gunicorn log (end)\n"
                           + processes.log_tail("gunicorn") + "\n--- celery log (end)\n" + processes.log_tail("celery"))
    probe = StepProbe(groups)
    if args.breakdown:
        print(f"  {args.breakdown} purchases by one client, CPU per step ...", flush=True)
        sequential = Recorder()
        for _ in range(args.breakdown):
            scenarios.purchase(client, sequential, probe)

    plan = [("healthz (start)", scenarios.healthz, healthz_seconds),
            ("validate-token", scenarios.validate_token, args.seconds),
            ("catalog page", scenarios.catalog_page, args.seconds),
            ("purchase", scenarios.purchase, args.seconds),
            ("healthz (end)", scenarios.healthz, healthz_seconds)]
    results = []
    sampler = CpuSampler(groups)
    for name, step, seconds in plan:
        print(f"  {name}: {args.clients} clients for {seconds:.0f} s ...", flush=True)
        sampler.start()
        recorder, elapsed = closed_loop(base, args.clients, seconds, step)
        cpu = sampler.stop()
        results.append((name, recorder, elapsed, cpu))
        if gunicorn.poll() is not None or celery.poll() is not None:
            raise RuntimeError("a server exited during the run:\n" + processes.log_tail("gunicorn")
                               + "\n" + processes.log_tail("celery"))
    load_after = os.getloadavg()
    monitor.close()
    return report(args, results, probe, product_label, load_before, load_after, processes)


def wait_for(client: Client, processes: Processes) -> None:
    for _ in range(600):
        try:
            if client.get("/healthz").status_code == 200:
                return
        except OSError:
            pass
        for name, process in processes.started.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{processes.log_tail(name)}")
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer /healthz in 60 s:\n" + processes.log_tail("gunicorn"))


def demo_product(client: Client) -> tuple[str, str]:
    """A demo course any new buyer can buy at once (not one that waits for an approval)."""
    answer = client.get("/api/v1/catalog/products/?type=course&limit=100")
    if answer.status_code != 200:
        raise RuntimeError(f"product list: {answer.status_code} {answer.text[:300]}")
    for product in answer.json()["results"]:
        metadata = product.get("metadata") or {}
        if metadata.get("requiresApproval") or product.get("requiresApproval"):
            continue
        price = str(product.get("price") or "0")
        if price.strip("0.") and not price.startswith("-"):
            return product["id"], f"{product.get('name')} ({price} {product.get('currency', '')})"
    raise RuntimeError(f"no purchasable demo course in {answer.text[:500]}")


# --- report ------------------------------------------------------------------------------------------

PURCHASE_LABELS = ["purchase end to end", "purchase API (cart+checkout+pay)", "register", "login",
                   "POST cart/items", "POST checkout", "POST pay", "pay → completed", "GET order (poll)"]
GROUPS = [("web", "gunicorn"), ("worker", "celery"), ("postgres", "postgres"), ("loadgen", "loadgen")]


def report(args, results, probe, product_label, load_before, load_after, processes) -> int:
    by_name = {name: (recorder, elapsed, cpu) for name, recorder, elapsed, cpu in results}
    floors = [by_name[n][0].samples["GET /healthz"] for n in ("healthz (start)", "healthz (end)")]
    floor_p50 = statistics.mean(percentile(samples, 0.50) for samples in floors)
    floor_p99 = statistics.mean(percentile(samples, 0.99) for samples in floors)
    print()
    print(f"gunicorn -w {args.web_workers} (sync) + celery --concurrency {args.celery_concurrency}, PostgreSQL and "
          f"Redis; {args.clients} clients, closed loop, {args.seconds:.0f} s per scenario; purchase of "
          f"{product_label}, a new buyer each time")
    header = (f"{'scenario: call':<42} {'count':>6} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'p50/hz':>7} {'p99/hz':>7}")
    print(header)
    print("-" * len(header))
    server_errors = 0
    for name, recorder, elapsed, _ in results:
        labels = PURCHASE_LABELS if name == "purchase" else list(recorder.samples)
        for label in labels:
            samples = recorder.samples.get(label) or [float("nan")]
            count = len(recorder.samples.get(label, []))
            rate = count / elapsed
            p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
            print(f"{(name + ': ' + label)[:42]:<42} {count:>6} {rate:>7.2f} {p50:>8.1f} {p99:>8.1f} "
                  f"{p50 / floor_p50:>7.1f} {p99 / floor_p99:>7.1f}")
        for statuses in recorder.statuses.values():
            server_errors += sum(n for status, n in statuses.items() if status >= 500)
    purchase, purchase_elapsed, purchase_cpu = by_name["purchase"]
    print(f"p50/hz, p99/hz: ratio to GET /healthz on this server in this run (mean of start and end: "
          f"p50 {floor_p50:.1f} ms, p99 {floor_p99:.1f} ms)")
    print(f"purchases completed: {purchase.completed} in {purchase_elapsed:.1f} s = "
          f"{purchase.completed / purchase_elapsed:.2f} purchases/s end to end "
          f"({purchase.completed_by_pay} already completed in the pay answer)")

    print()
    print(f"{'CPU during each scenario':<26}" + "".join(f"{label:>18}" for _, label in GROUPS) + f"{'machine':>10}")
    print(f"{'(% of one core, ms/call)':<26}")
    for name, recorder, _, cpu in results:
        calls = recorder.completed if name == "purchase" else sum(len(v) for v in recorder.samples.values())
        cells = "".join(f"{cpu['cpu_seconds'][group] / cpu['wall'] * 100:>9.0f}% "
                        f"{cpu['cpu_seconds'][group] / max(1, calls) * 1000:>6.1f}ms" for group, _ in GROUPS)
        print(f"{name:<26}{cells}{cpu['machine_busy'] * 100:>9.0f}%")
    print(f"(ms/call: CPU per request, per completed purchase for the purchase; machine: all {os.cpu_count()} "
          f"cores, every process on the machine)")

    if probe.wall:
        print()
        n = len(probe.wall["register"])
        print(f"one purchase at a time ({n} purchases, one client): wall p50 and mean CPU per step, ms")
        print(f"{'step':<22} {'wall p50':>9}" + "".join(f"{label:>10}" for _, label in GROUPS[:3]))
        for label in ("register", "login", "POST cart/items", "POST checkout", "POST pay", "paid → completed"):
            cells = "".join(f"{probe.cpu[label][group] / CLK_TCK / n * 1000:>10.1f}" for group, _ in GROUPS[:3])
            print(f"{label:<22} {statistics.median(probe.wall[label]):>9.1f}{cells}")

    if purchase.completed:
        per = {group: purchase_cpu["cpu_seconds"][group] / purchase.completed * 1000 for group, _ in GROUPS}
        cores = os.cpu_count()
        ceilings = {"web (gunicorn)": min(args.web_workers, cores) * 1000 / max(per["web"], 1e-9),
                    "worker (celery)": min(args.celery_concurrency, cores) * 1000 / max(per["worker"], 1e-9),
                    "PostgreSQL": cores * 1000 / max(per["postgres"], 1e-9)}
        serving = per["web"] + per["worker"] + per["postgres"]
        print()
        print(f"CPU per completed purchase under load: web {per['web']:.0f} ms, worker {per['worker']:.0f} ms, "
              f"PostgreSQL {per['postgres']:.0f} ms (load generator {per['loadgen']:.0f} ms)")
        print("purchases/s each would allow alone on this machine's cores, as configured: "
              + ", ".join(f"{name} {value:.1f}" for name, value in ceilings.items())
              + f"; all three sharing {cores} cores: {cores * 1000 / serving:.1f}")
        print(f"saturates first: {min(ceilings, key=ceilings.get)}; measured "
              f"{purchase.completed / purchase_elapsed:.2f}/s with the machine {purchase_cpu['machine_busy'] * 100:.0f}% "
              f"busy; each further core (with a web worker) adds about {1000 / serving:.1f} purchases/s")

    failures = [f for _, r, _, _ in results for f in r.failures]
    incomplete = [f for f in failures if f.startswith("order ")]
    print(f"\nload average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} after; 5xx answers: {server_errors}; "
          f"failures: {len(failures)}")
    for failure in failures:
        print(f"  {failure}")
    if server_errors or incomplete:
        print("\n--- gunicorn log (end)\n" + processes.log_tail("gunicorn")
              + "\n--- celery log (end)\n" + processes.log_tail("celery"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
