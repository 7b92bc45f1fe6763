"""The whole journey with Commerce and the LMS as two services (issue 12, item 1).

Two real server processes from this codebase (``SERVICE_ROLE=commerce`` and ``SERVICE_ROLE=lms``),
each with its own PostgreSQL database and its own Celery worker on Redis (no eager tasks), sharing
only the webhook secrets and the service-token key. Everything between them crosses over HTTP: the
ports with service tokens, the outbox's signed webhooks delivered by each side's worker, the SSO
handoff between two origins. The people act only over HTTP too (APIs and pages); the one thing done
behind the servers' backs is making the first LMS operator a global admin (the LMS has no API for
that: it is a deployment step, like creating the service clients).

The journey, each asynchronous step polled with a deadline:

1. an instructor (a content admin of the department) creates two courses with lessons on the LMS
   and publishes them; both reach the Commerce catalog (``catalog.sync``);
2. a learner registers at Commerce and buys the first (cart, checkout, test gateway); the order
   completes once the LMS has enrolled them (``entitlement`` there, ``enrollment-status`` back);
3. the learner reaches the LMS by SSO and marks a lesson done;
4. the revenue event credits the instructor's pending balance at Commerce (payouts API);
5. the second course requires approval: the order waits, a department admin approves on the LMS,
   and the order completes (and its revenue is credited);
6. the learner refunds the first order: the LMS revokes the enrollment and Commerce debits the
   instructor's balance.
"""

import json
import os
import re
import secrets
import subprocess
from decimal import Decimal
from urllib.parse import urljoin, urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings

from tests.split_services import PASSWORD, ROOT, Service, collect_static, csrf_of, wait_for

pytestmark = pytest.mark.timeout(480)

# What each side's service client may do at the other (derived from integration.routes: the LMS calls
# identity.* and sends role grants; Commerce calls learning.* ports: catalog export, access checks ...).
LMS_SCOPES = ("tokens:validate", "users:read", "roles:write")
COMMERCE_SCOPES = ("catalog:read", "users:read")
DEADLINE = 60  # seconds for any one asynchronous step (two workers on a busy 2-core machine)


def _skip_reason() -> str:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "needs PostgreSQL: each side gets its own database (set DATABASE_URL=postgres://...)"
    if not settings.REDIS_URL:
        return "needs Redis: each side runs its own Celery worker (set REDIS_URL=redis://...)"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis at REDIS_URL is unreachable ({exc.__class__.__name__}): each side needs its own worker"
    return ""


@pytest.fixture(autouse=True)
def _isolation():
    """Instead of tests/conftest.py's: its cache.clear() would FLUSHDB the Redis database that both
    sides' brokers use while they run (this test touches no cache of its own)."""
    yield


class PostgresDatabases:
    """Databases named after this run (``<base>_<run>_<role>``), dropped at the end whatever happens."""

    def __init__(self, base_url: str, run: str):
        parts = urlsplit(base_url)
        self.base = parts
        self.prefix = f"{parts.path.lstrip('/') or 'split'}_{run}"
        self.names: list[str] = []

    def _admin(self):
        import psycopg

        url = urlunsplit(self.base._replace(path="/postgres", scheme="postgresql"))
        return psycopg.connect(url, autocommit=True)

    def create(self, role: str) -> str:
        name = f"{self.prefix}_{role}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return urlunsplit(self.base._replace(path=f"/{name}"))

    def drop(self) -> None:
        with self._admin() as connection:
            for name in self.names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _parallel(*calls: tuple[Service, tuple[str, ...]]) -> None:
    """Runs manage.py commands of both sides at once (migrations dominate the set-up)."""
    running = [(service, args, subprocess.Popen(service.command(*args), cwd=ROOT, env=service.env,
                                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
               for service, args in calls]
    for service, args, process in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{service.role}: manage.py {' '.join(args)}\n{stderr[-3000:]}"


@pytest.fixture(scope="module")
def split(tmp_path_factory, request):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    run = secrets.token_hex(4)
    databases = PostgresDatabases(os.environ["DATABASE_URL"], run)
    request.addfinalizer(databases.drop)
    tmp = tmp_path_factory.mktemp("split-journey")
    shared = {"WEBHOOK_SECRETS": secrets.token_urlsafe(32), "SERVICE_TOKEN_SIGNING_KEY": secrets.token_urlsafe(48),
              "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    secret = {"commerce": secrets.token_urlsafe(24), "lms": secrets.token_urlsafe(24)}
    prefix = f"split-{run}"
    static_root = collect_static(tmp)
    # Two host names, so each side keeps its own cookies (cookies ignore the port).
    commerce = Service(role="commerce", host="127.0.0.1", tmp=tmp, shared=shared,
                       database_url=databases.create("commerce"), redis_url=settings.REDIS_URL,
                       key_prefix=f"{prefix}-commerce", static_root=static_root)
    lms = Service(role="lms", host="localhost", tmp=tmp, shared=shared, database_url=databases.create("lms"),
                  redis_url=settings.REDIS_URL, key_prefix=f"{prefix}-lms", static_root=static_root)
    request.addfinalizer(lambda: _redis_forget(prefix))
    request.addfinalizer(commerce.stop)
    request.addfinalizer(lms.stop)
    commerce.env.update({"LMS_BASE_URL": lms.url, "SERVICE_CLIENT_ID": "commerce-service",
                         "SERVICE_CLIENT_SECRET": secret["commerce"]})
    lms.env.update({"COMMERCE_BASE_URL": commerce.url, "SERVICE_CLIENT_ID": "lms-service",
                    "SERVICE_CLIENT_SECRET": secret["lms"]})
    _parallel((commerce, ("migrate", "--noinput")), (lms, ("migrate", "--noinput")))
    # Both service clients live in Commerce's identity app; the secrets go in on standard input.
    for client, scopes in (("lms-service", LMS_SCOPES), ("commerce-service", COMMERCE_SCOPES)):
        commerce.manage("create_service_client", client, "--secret-stdin",
                        *[arg for scope in scopes for arg in ("--scope", scope)],
                        stdin=secret[client.removesuffix("-service")] + "\n")
    commerce.manage("identity_phase", "2")
    for service in (commerce, lms):
        service.start_worker()
        service.start()
    return commerce, lms


def _redis_forget(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=500))
    if keys:
        client.delete(*keys)


# --- the people, over HTTP ------------------------------------------------------------------------

class Person:
    """Someone registered at Commerce: a bearer token for both APIs (the LMS validates it at Commerce)."""

    def __init__(self, commerce: Service, lms: Service, email: str):
        self.commerce, self.lms, self.email = commerce, lms, email
        registered = requests.post(f"{commerce.url}/api/v1/auth/registration/", timeout=20,
                                   json={"email": email, "password1": PASSWORD, "password2": PASSWORD})
        assert registered.status_code == 201, registered.text
        login = requests.post(f"{commerce.url}/api/v1/auth/login/", json={"email": email, "password": PASSWORD},
                              timeout=20)
        assert login.status_code == 200, login.text
        self.user_id = login.json()["user"]["id"]
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {login.json()['access']}"

    def call(self, service: Service, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        response = self.api.request(method, f"{service.url}{path}", timeout=30, **kwargs)
        assert response.status_code == expect, (f"{method} {service.role}{path}: {response.status_code} "
                                                f"{response.text[:1500]}\n{self.commerce.logs()}\n{self.lms.logs()}")
        return response.json() if response.content else {}

    def at_commerce(self, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        return self.call(self.commerce, method, path, expect, **kwargs)

    def at_lms(self, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        return self.call(self.lms, method, path, expect, **kwargs)

    def browser_at_lms(self) -> requests.Session:
        """Signs in at the store's login page, then follows "My courses" to the LMS (the SSO handoff)."""
        browser = requests.Session()
        login_page = browser.get(f"{self.commerce.url}/account/login/", timeout=20)
        signed_in = browser.post(f"{self.commerce.url}/account/login/", timeout=20, allow_redirects=False,
                                 data={"login": self.email, "password": PASSWORD,
                                       "csrfmiddlewaretoken": csrf_of(login_page.text)},
                                 headers={"Referer": f"{self.commerce.url}/account/login/"})
        assert signed_in.status_code == 302, signed_in.text[-500:]
        begin = browser.get(f"{self.lms.url}/lms/sso/begin", timeout=20, allow_redirects=False)
        assert begin.headers["Location"].startswith(f"{self.commerce.url}/account/sso/lms/?state="), begin.headers
        start = browser.get(begin.headers["Location"], timeout=20)
        fields = dict(re.findall(r'name="(token|state)" value="([^"]+)"', start.text))
        callback = browser.post(f"{self.lms.url}/lms/sso/callback", data=fields, timeout=30, allow_redirects=False)
        assert callback.status_code == 302, callback.text[-500:]
        assert urljoin(f"{self.lms.url}/lms/sso/callback", callback.headers["Location"]) == f"{self.lms.url}/lms/"
        return browser


def _make_global_admin(lms: Service, commerce_user_id: str) -> None:
    """A deployment step (no API grants it): the LMS's first operator becomes a global admin."""
    script = ("from learning.models import LmsUser, LmsUserType; "
              f"u = LmsUser.objects.get(commerce_user_id={commerce_user_id!r}); "
              "u.user_types = sorted({*u.user_types, LmsUserType.GLOBAL_ADMIN.value}); u.save(update_fields=['user_types'])")
    lms.manage("shell", "-c", script)


def _outbox_left(service: Service) -> list:
    script = ("import json; from integration.models import OutboxMessage; print(json.dumps(list("
              "OutboxMessage.objects.exclude(status='delivered').values_list('topic', 'status', 'last_error'))))")
    return json.loads(service.manage("shell", "-c", script).strip().splitlines()[-1])


def _money(value) -> Decimal:
    return Decimal(str(value))


# --- the journey ----------------------------------------------------------------------------------

def test_publish_buy_learn_earn_approve_refund_across_two_services(split):
    commerce, lms = split
    diagnose = lambda: f"{commerce.logs()}\n{lms.logs()}"  # noqa: E731
    ops = Person(commerce, lms, "ops@split.example.com")
    teacher = Person(commerce, lms, "teacher@split.example.com")
    dean = Person(commerce, lms, "dean@split.example.com")
    learner = Person(commerce, lms, "learner@split.example.com")

    # The LMS knows a Commerce user after one call with their token (identity port over HTTP).
    assert ops.at_lms("GET", "/api/v2/me/")["commerceUserId"] == ops.user_id
    _make_global_admin(lms, ops.user_id)
    department = ops.at_lms("POST", "/api/v2/departments/", 201, json={"name": "Data science"})
    for person, role in ((teacher, "content-admin"), (dean, "department-admin")):
        ops.at_lms("POST", f"/api/v2/departments/{department['id']}/memberships/", 201,
                   json={"email": person.email, "role": role})

    # 1. The instructor builds and publishes two courses; the second needs a department admin's approval.
    courses, lessons = {}, {}
    for key, title, price, approval, lesson_titles in (
            ("open", "Split pandas", "100.00", False, ["Series", "Frames"]),
            ("gated", "Split clinic", "200.00", True, ["Consent"])):
        course = teacher.at_lms("POST", "/api/v2/courses/", 201, json={
            "departmentId": department["id"], "title": title, "description": "Across two services.",
            "suggestedPrice": price, "currency": "USD", "requiresApproval": approval})
        lessons[key] = [teacher.at_lms("POST", f"/api/v2/courses/{course['id']}/lessons/", 201,
                                       json={"title": lesson, "body": "Read this."})["id"] for lesson in lesson_titles]
        # The split is set by someone not on the course's staff (here the global admin).
        ops.at_lms("PUT", f"/api/v2/courses/{course['id']}/revenue-config/", json={
            "instructorEmail": teacher.email, "instructorSplit": "0.3000", "creatorSplit": "0.0000",
            "platformSplit": "0.7000"})
        assert teacher.at_lms("POST", f"/api/v2/courses/{course['id']}/publish/")["status"] == "published"
        courses[key] = course

    def listed() -> dict:
        found = requests.get(f"{commerce.url}/api/v1/catalog/products/", params={"q": "Split"}, timeout=20).json()
        return {p["externalId"]: p for p in found["results"]} if len(found["results"]) == 2 else {}

    products = wait_for("both published courses in the Commerce catalog", listed, timeout=DEADLINE, diagnose=diagnose)
    product = {key: products[course["id"]] for key, course in courses.items()}
    assert _money(product["open"]["price"]) == Decimal("100.00")
    assert product["gated"]["name"] == "Split clinic"

    # 2. The learner buys the open course over the API; the order completes once the LMS has enrolled them.
    def buy(key: str) -> str:
        learner.at_commerce("POST", "/api/v1/cart/items/", 201, json={"productId": product[key]["id"]})
        order_id = learner.at_commerce("POST", "/api/v1/checkout/", 201, json={})["orderId"]
        learner.at_commerce("POST", f"/api/v1/checkout/{order_id}/pay/", json={"paymentMethod": "pm_card_visa"})
        return order_id

    def order_when(order_id: str, status: str, entitlement: str):
        seen = {}

        def probe():
            seen["order"] = order = learner.at_commerce("GET", f"/api/v1/orders/{order_id}/")
            line = order["lines"][0]
            return order if order["status"] == status and line["entitlementStatus"] == entitlement else None
        return wait_for(f"order {order_id} {status} with its line {entitlement}", probe, timeout=DEADLINE,
                        diagnose=lambda: f"last order: {seen.get('order')}\n{diagnose()}")

    open_order_id = buy("open")
    open_order = order_when(open_order_id, "completed", "granted")
    open_enrollment = open_order["lines"][0]["enrollmentId"]
    assert open_enrollment

    # 3. The learner reaches the LMS by SSO and marks the first lesson done on the course player.
    browser = learner.browser_at_lms()
    assert "Split pandas" in browser.get(f"{lms.url}/lms/", timeout=20).text
    player = browser.get(f"{lms.url}/lms/courses/{courses['open']['id']}/", timeout=20)
    assert player.status_code == 200
    done = browser.post(f"{lms.url}/lms/courses/{courses['open']['id']}/lessons/{lessons['open'][0]}/done/",
                        data={"csrfmiddlewaretoken": csrf_of(player.text)}, timeout=20, allow_redirects=False,
                        headers={"Referer": player.url})
    assert done.status_code == 302, done.text[-500:]
    mine = {e["courseId"]: e for e in learner.at_lms("GET", "/api/v2/me/enrollments/")["results"]}
    assert mine[courses["open"]["id"]]["id"] == open_enrollment
    assert (mine[courses["open"]["id"]]["lessonsDone"], mine[courses["open"]["id"]]["lessonsTotal"]) == (1, 2)

    # 4. The revenue event credits the instructor at Commerce: $100.00, fee 2.9% + 0.30 = 3.20, 30% of 96.80.
    def pending(amount: str):
        def probe():
            balance = teacher.at_commerce("GET", "/api/v1/payouts/balance/")
            return balance if _money(balance["pendingBalance"]) == Decimal(amount) else None
        return wait_for(f"the instructor's pending balance to be {amount}", probe, timeout=DEADLINE,
                        diagnose=lambda: f"{teacher.at_commerce('GET', '/api/v1/payouts/balance/')}\n{diagnose()}")

    pending("29.04")

    # 5. The gated course: the LMS answers the grant "pending_approval" (the order stays paid, waiting);
    # a department admin approves on the LMS, the LMS sends enrollment.approved, the line is granted
    # and the order completes.
    gated_order_id = buy("gated")
    waiting = order_when(gated_order_id, "paid", "pending_approval")
    gated_enrollment = waiting["lines"][0]["enrollmentId"]
    assert gated_enrollment, waiting
    assert learner.at_lms("POST", f"/api/v2/enrollments/{gated_enrollment}/approve/", 403)["error"]
    assert dean.at_lms("POST", f"/api/v2/enrollments/{gated_enrollment}/approve/")["status"] == "active"
    order_when(gated_order_id, "completed", "granted")
    pending("87.21")  # + 30% of (200.00 - 6.10)

    # 6. The learner refunds the first order: the LMS revokes that enrollment, Commerce debits the share.
    refund = learner.at_commerce("POST", f"/api/v1/orders/{open_order_id}/refunds/", 201,
                                 json={"reason": "split journey"})
    assert refund["order"]["status"] == "refunded"
    order_when(open_order_id, "refunded", "revoked")
    wait_for("the LMS to revoke the refunded enrollment",
             lambda: courses["open"]["id"] not in {e["courseId"] for e in
                                                   learner.at_lms("GET", "/api/v2/me/enrollments/")["results"]},
             timeout=DEADLINE, diagnose=diagnose)
    assert browser.get(f"{lms.url}/lms/courses/{courses['open']['id']}/", timeout=20).status_code == 403
    pending("58.17")

    # Nothing is left behind in either outbox: every message was delivered by its side's worker.
    assert wait_for("both outboxes drained", lambda: not (_outbox_left(commerce) or _outbox_left(lms)),
                    timeout=DEADLINE, interval=2, diagnose=lambda: f"{_outbox_left(commerce)}\n{_outbox_left(lms)}")
