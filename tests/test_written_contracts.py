"""The written contracts, checked from outside: every endpoint of /work/shared/API.md and of section 6 of the
spec (000_…), sent the documented request as the documented caller, its answer checked field by field
(names, JSON types, enum values, status code, the error shape of documented errors).

| endpoint (as written)                                   | caller                 | test |
|---------------------------------------------------------|------------------------|------|
| POST /api/v1/auth/validate-token (6.1.1)                | service tokens:validate| test_6_1_1_validate_token_valid, test_6_1_1_validate_token_errors, test_6_1_1_validate_token_scope_and_401 |
| POST /api/v1/catalog/sync (6.1.2)                       | signed webhook (lms)   | test_6_1_2_catalog_sync |
| POST /api/v1/revenue/events (6.1.3)                     | signed webhook (lms)   | test_6_1_3_revenue_events |
| POST /api/v1/users/{userId}/roles (6.1.4)               | service roles:write    | test_6_1_4_grant_payee_role_as_service |
| POST /api/v1/users/{userId}/roles, DELETE …/roles/{role}| commerce-admin         | test_6_1_4_grant_and_revoke_as_admin |
| GET /api/v2/auth/sso/user (6.2.1)                       | service users:read     | test_6_2_1_sso_user |
| POST /api/v2/webhooks/commerce/entitlement (6.2.2)      | signed webhook (comm.) | test_6_2_2_entitlement_grant |
| GET /api/v2/commerce/catalog (6.2.3)                    | service catalog:read   | test_6_2_3_catalog_export |
| POST /api/v2/auth/service-token (6.3)                   | client credentials     | test_6_3_service_token |
| section 9.3 webhook headers                             | unsigned / stale       | test_9_3_webhook_signature_is_required |
| POST /api/v1/auth/registration/                         | anonymous              | test_registration_login_refresh_user_logout |
| POST /api/v1/auth/login/ (with MFA on, a second step)   | anonymous              | test_registration_login_refresh_user_logout, test_login_with_mfa_has_a_second_step |
| POST /api/v1/auth/token/refresh/ (rotation, reuse)      | anonymous              | test_registration_login_refresh_user_logout |
| GET /api/v1/auth/user/                                  | learner                | test_registration_login_refresh_user_logout |
| POST /api/v1/auth/logout/                               | learner                | test_registration_login_refresh_user_logout |
| POST /api/v1/revenue/releases                           | signed webhook (lms)   | test_revenue_releases |
| POST /api/v1/webhooks/enrollment-status                 | signed webhook (lms)   | test_enrollment_status_webhook, test_approval_round_trip_and_the_enrollment_status_webhook |
| POST /api/v1/webhooks/stripe                            | Stripe-Signature       | test_stripe_webhook_needs_stripes_signature |
| GET /api/v1/catalog/products/ (+type, q, departmentId)  | anonymous (public)     | test_product_list_and_detail_are_public |
| GET /api/v1/catalog/products/{id}/                      | anonymous (public)     | test_product_list_and_detail_are_public |
| GET /api/v1/cart/ · POST …/items/ · DELETE …/items/{id}/| learner                | test_cart_items_and_coupon |
| POST /api/v1/cart/coupon/                               | learner                | test_cart_items_and_coupon |
| POST /api/v1/checkout/                                  | learner                | test_checkout_pay_orders_refund |
| POST /api/v1/checkout/{orderId}/pay/ (visa, declined, 3DS) | learner             | test_checkout_pay_orders_refund, test_pay_declined_and_requires_action |
| GET /api/v1/orders/ · GET /api/v1/orders/{id}/          | learner                | test_checkout_pay_orders_refund |
| POST /api/v1/orders/{id}/refunds/ {lineIds?, amount?}   | learner                | test_checkout_pay_orders_refund, test_checkout_takes_coupon_and_country_and_refunds_take_an_amount |
| POST /api/v1/checkout/ {couponCode?, billingCountry?}   | learner                | test_checkout_takes_coupon_and_country_and_refunds_take_an_amount |
| buying what one owns → 409 already_owned                | learner                | test_checkout_pay_orders_refund |
| GET /api/v1/payouts/balance/                            | payee                  | test_payouts_balance_ledger_list_statement |
| GET /api/v1/payouts/ledger/ (?payee=platform as admin)  | payee, commerce-admin  | test_payouts_balance_ledger_list_statement |
| GET /api/v1/payouts/                                    | payee                  | test_payouts_balance_ledger_list_statement |
| GET /api/v1/payouts/statements/{period}.csv             | payee                  | test_payouts_balance_ledger_list_statement |
| money with the currency's minor digits (payouts)        | payee                  | test_payouts_money_has_the_currency_minor_digits |
| GET /api/v1/schema/ · GET /api/v1/docs/                 | anonymous              | test_schema_and_docs |
| GET|POST /api/v2/departments/                           | global admin (LMS)     | test_lms_departments_programs_courses |
| GET|POST /api/v2/programs/ · GET|POST /api/v2/courses/  | global admin (LMS)     | test_lms_departments_programs_courses |
| POST /api/v2/courses/{id}/publish/ · …/archive/         | global admin (LMS)     | test_lms_departments_programs_courses |
| POST /api/v2/courses/{id}/staff/                        | global admin (LMS)     | test_lms_departments_programs_courses |
| GET|PUT /api/v2/courses/{id}/revenue-config/            | global admin (LMS)     | test_lms_revenue_config |
| money in as "199.00" or 199.00                          | global admin (LMS)     | test_money_in_is_a_decimal_string_or_a_json_number |
| GET|POST /api/v2/courses/{id}/lessons/ · …/exams/       | global admin (LMS)     | test_lms_departments_programs_courses |
| GET /api/v2/me/enrollments/ · POST …/progress/          | learner                | test_lms_learner_journey |
| POST /api/v2/exams/{id}/attempts/                       | learner                | test_lms_learner_journey |
| GET /api/v2/me/certificates/ · GET /certificates/{code}/| learner, anonymous     | test_lms_learner_journey |
| POST /api/v2/enrollments/{id}/approve/ · …/reject/      | department admin       | test_lms_approve_reject_interactions |
| POST /api/v2/enrollments/{id}/interactions/             | department admin       | test_lms_approve_reject_interactions |
| GET /healthz · GET /readyz · GET /metrics               | anonymous              | test_operations |
| lists: {results, next, previous}, ?limit (20, ≤100)     | learner                | test_list_convention |
| everything else under /api/ needs a user or service     | anonymous              | test_anonymous_is_401_with_the_error_shape |
| every error a JSON body {error: {code, message, details}} | anonymous            | test_unknown_paths_and_methods_answer_the_error_shape (and error_of() everywhere) |
| ids strings, timestamps ISO 8601 UTC, camelCase names   | every answer above     | _every_json_answer_keeps_the_conventions (autouse) |
| every answer under /api/ as the OpenAPI schema documents it | every answer above | _every_json_answer_keeps_the_conventions (autouse), test_the_schema_check_finds_what_it_should |
"""

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from identity.models import Role, UserRole
from identity.services.tokens import token_pair_issue
from integration.contracts import encode_json
from integration.outbox import outbox_sweep
from integration.service_auth import mint_service_token
from learning.models import Enrollment, LmsUser
from tests.catalog.factories import CouponFactory, ProductFactory
from tests.identity.factories import PASSWORD, ServiceClientFactory, UserFactory
from tests.integration.conftest import signed_post
from tests.learning.factories import (
    CourseFactory,
    EnrollmentFactory,
    LessonFactory,
    LmsUserFactory,
    MembershipFactory,
    QuestionFactory,
    department,
)
from tests.orders_paid import orders_paid_fixture

pytestmark = pytest.mark.django_db

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")
MONEY = re.compile(r"^-?\d+\.\d\d$")  # USD: the currency's two minor digits


@pytest.fixture(autouse=True)
def _cheap_hashing(settings):
    settings.ARGON2_TIME_COST = 1
    settings.ARGON2_MEMORY_KIB = 1024
    settings.ARGON2_PARALLELISM = 1


def _scan(value, path, problems):
    """API.md: "Every id in JSON is a string"; "Timestamps are ISO 8601 UTC"; field names camelCase."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if "_" in key and not key.isupper():
                problems.append(f"{where}: not camelCase")
            if (key == "id" or key.endswith("Id")) and item is not None and not isinstance(item, str):
                problems.append(f"{where}: id is {type(item).__name__} {item!r}")
            if key.endswith("At") and item is not None and not (isinstance(item, str) and ISO.match(item)):
                problems.append(f"{where}: timestamp {item!r}")
            _scan(item, where, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _scan(item, f"{path}[{index}]", problems)


def test_the_convention_scan_finds_what_it_should():
    problems: list[str] = []
    _scan({"items": [{"id": 1, "productId": "p"}], "createdAt": "2026-01-01 10:00", "order_id": "x",
           "paidAt": "2026-01-01T10:00:00Z", "error": {"code": "X"}}, "/api", problems)
    assert problems == ["/api.items[0].id: id is int 1", "/api.createdAt: timestamp '2026-01-01 10:00'",
                        "/api.order_id: not camelCase"]


_documents: list = []


def _openapi():
    """The served OpenAPI document as schemathesis reads it (built once per run)."""
    if not _documents:
        import schemathesis

        _documents.append(schemathesis.openapi.from_dict(json.loads(
            Client().get("/api/v1/schema/", {"format": "json"}).content)))
    return _documents[0]


def _schema_problem(method: str, path: str, response) -> str | None:
    """How ``response`` differs from what the OpenAPI schema documents for its operation (status code, content
    type, headers, body), or None. Paths and methods the schema does not name are the 404/405 tests' business."""
    import requests
    from schemathesis.core.failures import FailureGroup
    from schemathesis.core.transport import Response

    operation = _openapi().find_operation_by_path(method, path)
    if operation is None:
        return None
    request = requests.Request(method, f"http://testserver{path}").prepare()
    wrapped = Response(status_code=response.status_code, content=response.content, request=request, elapsed=0.0,
                       verify=False, headers={name.lower(): [value] for name, value in response.headers.items()})
    try:
        operation.validate_response(wrapped)
    except (FailureGroup, AssertionError) as failure:
        reasons = "; ".join(str(each)[:300] for each in getattr(failure, "exceptions", [failure]))
        return f"{method} {path} {response.status_code}: {reasons}"
    return None


def test_the_schema_check_finds_what_it_should():
    from django.http import JsonResponse

    order = f"/api/v1/orders/{uuid.uuid4()}/"
    assert "id" in (_schema_problem("GET", order, JsonResponse({"id": 1})) or "")
    assert _schema_problem("GET", "/api/v1/cart/", JsonResponse({"id": None, "couponCode": None, "items": [],
                                                                  "totals": None, "error": None})) is None
    assert _schema_problem("GET", "/api/v1/cart/", JsonResponse({"items": "none"})) is not None
    assert _schema_problem("GET", "/api/v1/no-such-operation", JsonResponse({})) is None


@pytest.fixture(autouse=True)
def _every_json_answer_keeps_the_conventions(monkeypatch):
    """Every JSON answer these tests get is scanned for string ids, ISO UTC timestamps and camelCase names,
    and every answer under /api/ is checked against the OpenAPI schema's description of its operation."""
    problems: list[str] = []
    original = Client.request

    def request(self, **kwargs):
        response = original(self, **kwargs)
        path = kwargs.get("PATH_INFO", "")
        if path.startswith("/api/") and not path.startswith(("/api/v1/schema", "/api/v1/docs")):
            if response.get("Content-Type", "").startswith("application/json"):
                _scan(response.json(), path, problems)
            if problem := _schema_problem(kwargs.get("REQUEST_METHOD", "GET"), path, response):
                problems.append(problem)
        return response

    monkeypatch.setattr(Client, "request", request)
    yield
    assert not problems, "\n".join(problems)


# --- helpers --------------------------------------------------------------------------------------------------

def fields(body: dict, required: dict, optional: dict | None = None) -> None:
    """``body`` has every required field with its JSON type; optional ones, when present, have theirs."""
    assert isinstance(body, dict), body
    for name, kind in required.items():
        assert name in body, f"{name!r} missing from {sorted(body)}"
        assert isinstance(body[name], kind), f"{name!r} is {type(body[name]).__name__}: {body[name]!r}"
        assert not isinstance(body[name], bool) or kind is bool or bool in (kind if isinstance(kind, tuple) else ()), name
    for name, kind in (optional or {}).items():
        if name in body and body[name] is not None:
            assert isinstance(body[name], kind), f"{name!r} is {type(body[name]).__name__}: {body[name]!r}"


def error_of(response, status: int, code: str | None = None) -> dict:
    """The one error shape: ``{"error": {"code", "message", "details"}}`` with the given status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    fields(body["error"], {"code": str, "message": str, "details": dict})
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def money(value) -> Decimal:
    """A money field: a decimal string or a number with the currency's minor digits."""
    assert isinstance(value, str | int | float) and not isinstance(value, bool), value
    if isinstance(value, str):
        assert MONEY.match(value), f"money {value!r} does not have the currency's minor digits"
    return Decimal(str(value))


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def as_user(user) -> dict:
    return bearer(token_pair_issue(user=user).access)


def service(*scopes: str) -> dict:
    return bearer(mint_service_token(client_id="contract-tests", scopes=list(scopes)))


def webhook(path: str, payload: dict, *, source: str):
    return signed_post(Client(), path, encode_json(payload), source=source)


def deliver() -> None:
    """What the worker does: every due outbox message, until none is left."""
    for _ in range(20):
        if not outbox_sweep(now=timezone.now() + timedelta(seconds=1)):
            break


def page(body: dict) -> list:
    assert set(body) >= {"results", "next", "previous"}, body
    assert isinstance(body["results"], list)
    assert body["next"] is None or isinstance(body["next"], str)
    assert body["previous"] is None or isinstance(body["previous"], str)
    return body["results"]


@pytest.fixture
def learner():
    return UserFactory(verified=True)


@pytest.fixture
def admin():
    user = UserFactory(verified=True)
    UserRole.objects.create(user=user, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    return user


COMMERCE_ROLES = {"purchaser", "payee", "commerce-admin"}  # spec 4.1 CommerceRole


# --- 6.1.1 Token Validation ------------------------------------------------------------------------------------

def test_6_1_1_validate_token_valid(learner):
    access = token_pair_issue(user=learner).access
    response = APIClient().post("/api/v1/auth/validate-token", {"token": access}, format="json",
                                **service("tokens:validate"))
    assert response.status_code == 200
    body = response.json()
    fields(body, {"valid": bool, "user": dict})
    assert body["valid"] is True and "error" not in body
    fields(body["user"], {"id": str, "email": str, "commerceRoles": list})
    assert body["user"]["id"] == str(learner.pk) and body["user"]["email"] == learner.email
    assert set(body["user"]["commerceRoles"]) <= COMMERCE_ROLES and "purchaser" in body["user"]["commerceRoles"]


@pytest.mark.parametrize("case, code", [("garbage", "INVALID_TOKEN"), ("expired", "EXPIRED_TOKEN"),
                                        ("revoked", "REVOKED_TOKEN")])
def test_6_1_1_validate_token_errors(learner, case, code):
    pair = token_pair_issue(user=learner)
    if case == "revoked":
        logout = APIClient().post("/api/v1/auth/logout/", {"refresh": pair.refresh}, format="json",
                                  **bearer(pair.access))
        assert logout.status_code in (200, 204), logout.content
    token = "abc.def.ghi" if case == "garbage" else pair.access
    moment = timezone.now() + timedelta(hours=2) if case == "expired" else timezone.now()
    with freeze_time(moment):
        response = APIClient().post("/api/v1/auth/validate-token", {"token": token}, format="json",
                                    **service("tokens:validate"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["valid"] is False and "user" not in body
    fields(body["error"], {"code": str, "message": str})
    assert body["error"]["code"] == code


def test_6_1_1_validate_token_scope_and_401(learner):
    access = token_pair_issue(user=learner).access
    api = APIClient()
    error_of(api.post("/api/v1/auth/validate-token", {"token": access}, format="json", **service("users:read")),
             403, "insufficient_scope")
    error_of(api.post("/api/v1/auth/validate-token", {"token": access}, format="json", **bearer("nonsense")), 401)
    error_of(api.post("/api/v1/auth/validate-token", {}, format="json", **service("tokens:validate")), 400)


# --- 6.1.2 Catalog Sync ----------------------------------------------------------------------------------------

def _sync_item(external_id: str, **overrides) -> dict:
    item = {"action": "upsert", "externalId": external_id, "type": "course", "name": f"Course {external_id}",
            "description": "A course.", "suggestedPrice": 199.00, "currency": "USD",
            "metadata": {"departmentId": "dept-1", "programId": "prog-1", "durationWeeks": 6,
                         "thumbnailUrl": "https://example.com/t.png", "level": "beginner"}}
    item.update(overrides)
    return item


def _sync(*items) -> dict:
    return {"source": "lms", "idempotencyKey": str(uuid.uuid4()), "products": list(items), "signature": "optional"}


def test_6_1_2_catalog_sync():
    payload = _sync(_sync_item("c-1"), _sync_item("c-2", type="program", suggestedPrice="49.00"))
    first = webhook("/api/v1/catalog/sync", payload, source="lms")
    assert first.status_code == 200, first.content
    body = first.json()
    fields(body, {"success": bool, "processed": int, "results": list})
    assert body["success"] is True and body["processed"] == 2
    for result in body["results"]:
        fields(result, {"externalId": str, "productId": str, "status": str}, {"error": str})
    assert [(r["externalId"], r["status"]) for r in body["results"]] == [("c-1", "created"), ("c-2", "created")]
    product_id = body["results"][0]["productId"]
    replay = webhook("/api/v1/catalog/sync", payload, source="lms")
    assert replay.status_code == 200 and replay.json() == body, "9.3: the same key and body answer the same"

    second = webhook("/api/v1/catalog/sync", _sync(_sync_item("c-1", name="Renamed"),
                                                   _sync_item("c-2", action="archive", type="program"),
                                                   _sync_item("c-3", currency="XXQ")), source="lms").json()
    statuses = {r["externalId"]: r for r in second["results"]}
    assert statuses["c-1"]["status"] == "updated" and statuses["c-1"]["productId"] == product_id
    assert statuses["c-2"]["status"] == "archived"
    assert statuses["c-3"]["status"] == "failed" and isinstance(statuses["c-3"]["error"], str)
    assert isinstance(second["success"], bool) and isinstance(second["processed"], int)
    assert {r["status"] for r in second["results"]} <= {"created", "updated", "archived", "failed"}


# --- 6.1.3 Revenue Event ---------------------------------------------------------------------------------------

def test_6_1_3_revenue_events():
    from integration.ports.identity import identity_port

    platform = str(identity_port().platform_payee().id)
    instructor = str(UserFactory().pk)
    event = {"eventId": f"evt-{uuid.uuid4()}", "type": "course_sale", "orderId": str(uuid.uuid4()),
             "productExternalId": "course-101", "totalAmount": 100.00, "currency": "USD",
             "splits": [{"payeeUserId": instructor, "amount": 70.00, "reason": "instructor_share",
                         "description": "70%"},
                        {"payeeUserId": platform, "amount": 30.00, "reason": "platform_fee"}],
             "occurredAt": "2026-01-14T10:00:00Z"}
    bad = dict(event, eventId=f"evt-{uuid.uuid4()}", orderId=str(uuid.uuid4()), totalAmount=99.00)
    payload = {"source": "lms", "idempotencyKey": str(uuid.uuid4()), "events": [event, bad], "signature": "x"}
    response = webhook("/api/v1/revenue/events", payload, source="lms")
    assert response.status_code == 200, response.content
    body = response.json()
    fields(body, {"success": bool, "processed": int, "results": list})
    for result in body["results"]:
        fields(result, {"eventId": str, "status": str}, {"error": str})
    assert [(r["eventId"], r["status"]) for r in body["results"]] == [(event["eventId"], "processed"),
                                                                      (bad["eventId"], "failed")]
    assert isinstance(body["results"][1]["error"], str)
    again = webhook("/api/v1/revenue/events", dict(payload, idempotencyKey=str(uuid.uuid4()), events=[event]),
                    source="lms").json()
    assert again["results"] == [{"eventId": event["eventId"], "status": "duplicate"}]

    # API.md's additions: type "refund", reason "creator_share", grossAmount, processorFee, a split's hold.
    creator = str(UserFactory().pk)
    held = {"eventId": f"evt-{uuid.uuid4()}", "type": "course_sale", "orderId": str(uuid.uuid4()),
            "productExternalId": "course-101", "totalAmount": "192.93", "grossAmount": "199.00",
            "processorFee": "6.07", "currency": "USD",
            "splits": [{"payeeUserId": platform, "amount": "57.88", "reason": "platform_fee"},
                       {"payeeUserId": creator, "amount": "77.17", "reason": "creator_share", "hold": True},
                       {"payeeUserId": instructor, "amount": "57.88", "reason": "instructor_share", "hold": True}],
            "occurredAt": "2026-01-14T10:00:00Z"}
    # API.md does not name originalEventId; without it a refund is answered failed per event (reported).
    refund = dict(held, eventId=f"evt-{uuid.uuid4()}", type="refund", originalEventId=held["eventId"],
                  occurredAt="2026-01-15T10:00:00Z")
    both = webhook("/api/v1/revenue/events", {"source": "lms", "idempotencyKey": str(uuid.uuid4()),
                                              "events": [held, refund]}, source="lms")
    assert both.status_code == 200, both.content
    assert [r["status"] for r in both.json()["results"]] == ["processed", "processed"], both.json()


# --- 6.1.4 Grant Payee Role ------------------------------------------------------------------------------------

def test_6_1_4_grant_payee_role_as_service(learner):
    body = {"role": "payee", "reason": "assigned to a revenue-generating course",
            "metadata": {"lmsUserId": "lms-1", "courseIds": ["course-1"]}}
    response = APIClient().post(f"/api/v1/users/{learner.pk}/roles", body, format="json", **service("roles:write"))
    assert response.status_code in (200, 201), response.content
    answer = response.json()
    fields(answer, {"success": bool, "user": dict})
    assert answer["success"] is True
    fields(answer["user"], {"id": str, "commerceRoles": list})
    assert answer["user"]["id"] == str(learner.pk) and "payee" in answer["user"]["commerceRoles"]
    assert set(answer["user"]["commerceRoles"]) <= COMMERCE_ROLES
    error_of(APIClient().post(f"/api/v1/users/{learner.pk}/roles", body, format="json", **service("users:read")),
             403, "insufficient_scope")
    error_of(APIClient().post(f"/api/v1/users/{learner.pk}/roles", body, format="json"), 401)


def test_6_1_4_grant_and_revoke_as_admin(learner, admin):
    api = APIClient()
    granted = api.post(f"/api/v1/users/{learner.pk}/roles", {"role": "payee", "reason": "by hand"}, format="json",
                       **as_user(admin))
    assert granted.status_code in (200, 201), granted.content
    assert "payee" in granted.json()["user"]["commerceRoles"]
    revoked = api.delete(f"/api/v1/users/{learner.pk}/roles/payee", {"reason": "course ended"}, format="json",
                         **as_user(admin))
    assert revoked.status_code == 200, revoked.content
    fields(revoked.json(), {"success": bool, "user": dict})
    assert "payee" not in revoked.json()["user"]["commerceRoles"]
    error_of(api.post(f"/api/v1/users/{learner.pk}/roles", {"role": "payee", "reason": "x"}, format="json",
                      **as_user(learner)), 403)


# --- 6.2.1 SSO User Lookup -------------------------------------------------------------------------------------

def test_6_2_1_sso_user():
    user = LmsUserFactory(commerce_user_id="cu-42", user_types=["learner"])
    EnrollmentFactory(user=user)
    api = APIClient()
    response = api.get("/api/v2/auth/sso/user", HTTP_X_COMMERCE_USER_ID="cu-42", **service("users:read"))
    assert response.status_code == 200
    body = response.json()
    fields(body, {"success": bool, "data": dict})
    fields(body["data"], {"exists": bool, "lmsUserId": str, "userTypes": list, "hasActiveEnrollments": bool})
    assert body["data"] == {"exists": True, "lmsUserId": str(user.pk), "userTypes": ["learner"],
                            "hasActiveEnrollments": True}
    assert set(body["data"]["userTypes"]) <= {"learner", "staff", "global-admin"}  # spec 4.2 LMSUserType
    unknown = api.get("/api/v2/auth/sso/user", HTTP_X_COMMERCE_USER_ID="cu-none", **service("users:read")).json()
    assert unknown["success"] is True and unknown["data"]["exists"] is False
    error_of(api.get("/api/v2/auth/sso/user", HTTP_X_COMMERCE_USER_ID="cu-42", **service("catalog:read")), 403,
             "insufficient_scope")
    error_of(api.get("/api/v2/auth/sso/user", HTTP_X_COMMERCE_USER_ID="cu-42"), 401)


# --- 6.2.2 Entitlement Grant -----------------------------------------------------------------------------------

def test_6_2_2_entitlement_grant():
    course, other = CourseFactory(), CourseFactory()
    item = {"productType": "course", "externalId": str(course.pk), "grantedAt": "2026-01-05T10:00:00Z",
            "expiresAt": "2027-01-05T10:00:00Z",
            "metadata": {"orderId": "ord-1", "transactionId": "pi_1", "amount": 199.00, "currency": "USD"}}
    payload = {"event": "entitlement.granted", "idempotencyKey": str(uuid.uuid4()), "orderId": "ord-1",
               "commerceUserId": "cu-7", "email": "buyer7@example.com",
               "items": [item, dict(item, externalId="no-such-course")], "signature": "x"}
    response = webhook("/api/v2/webhooks/commerce/entitlement", payload, source="commerce")
    assert response.status_code == 200, response.content
    body = response.json()
    fields(body, {"success": bool, "results": list, "lmsUserId": str})
    assert body["lmsUserId"] == str(LmsUser.objects.get(commerce_user_id="cu-7").pk)
    for result in body["results"]:
        fields(result, {"externalId": str, "status": str}, {"enrollmentId": str, "error": str})
    granted, failed = body["results"]
    assert granted["status"] == "granted" and granted["enrollmentId"] == str(Enrollment.objects.get().pk)
    assert failed["status"] == "failed" and isinstance(failed["error"], str)

    second = dict(payload, idempotencyKey=str(uuid.uuid4()), orderId="ord-2",
                  items=[dict(item, metadata=dict(item["metadata"], orderId="ord-2"))])
    again = webhook("/api/v2/webhooks/commerce/entitlement", second, source="commerce").json()
    assert again["results"][0]["status"] == "already_enrolled"
    assert {r["status"] for r in body["results"] + again["results"]} <= {"granted", "already_enrolled", "failed",
                                                                          "pending_approval"}
    course_class = _published_class(CourseFactory())
    class_grant = dict(payload, idempotencyKey=str(uuid.uuid4()), orderId="ord-3",
                       items=[dict(item, productType="class", externalId=str(course_class.pk))])
    classes = webhook("/api/v2/webhooks/commerce/entitlement", class_grant, source="commerce").json()
    assert classes["results"][0]["status"] == "granted", classes
    revoke = dict(payload, event="entitlement.revoked", idempotencyKey=str(uuid.uuid4()), items=[item])
    revoked = webhook("/api/v2/webhooks/commerce/entitlement", revoke, source="commerce")
    assert revoked.status_code == 200, revoked.content
    fields(revoked.json(), {"success": bool, "results": list, "lmsUserId": str})
    # The spec writes no status for a revoke's items; this one answers "revoked" (reported, not in the enum).
    assert revoked.json()["results"][0]["status"] == "revoked"
    assert Enrollment.objects.get(pk=granted["enrollmentId"]).status == "revoked"
    del other


def _published_class(course):
    from learning.models import CourseClass

    start = timezone.now() + timedelta(days=7)
    return CourseClass.objects.create(course=course, title=f"{course.title}, spring", starts_at=start,
                                      ends_at=start + timedelta(days=30), capacity=10, status="published")


# --- 6.2.3 Product Catalog Export ------------------------------------------------------------------------------

def test_6_2_3_catalog_export():
    web = department("Web")
    CourseFactory(department=web, title="One", instructor_name="Ada")
    CourseFactory(department=web, title="Two")
    api = APIClient()
    response = api.get("/api/v2/commerce/catalog", {"type": "course", "limit": 1,
                                                    "departmentId": str(web.pk)}, **service("catalog:read"))
    assert response.status_code == 200, response.content
    body = response.json()
    fields(body, {"success": bool, "data": dict})
    fields(body["data"], {"products": list, "pagination": dict})
    fields(body["data"]["pagination"], {"hasMore": bool}, {"nextCursor": str})
    assert body["data"]["pagination"]["hasMore"] is True and body["data"]["pagination"]["nextCursor"]
    (product,) = body["data"]["products"]
    fields(product, {"externalId": str, "type": str, "name": str, "description": str,
                     "suggestedPrice": (int, float), "currency": str, "status": str, "metadata": dict,
                     "updatedAt": str})
    assert product["type"] in {"course", "program", "class"} and product["status"] in {"published", "archived"}
    assert ISO.match(product["updatedAt"]), product["updatedAt"]
    fields(product["metadata"], {"departmentId": str, "departmentName": str},
           {"instructorName": str, "durationWeeks": int, "thumbnailUrl": str})
    assert product["metadata"]["departmentId"] == str(web.pk) and product["metadata"]["departmentName"] == "Web"
    rest = api.get("/api/v2/commerce/catalog", {"type": "course", "limit": 1, "departmentId": str(web.pk),
                                                "cursor": body["data"]["pagination"]["nextCursor"]},
                   **service("catalog:read")).json()
    assert rest["data"]["pagination"]["hasMore"] is False and len(rest["data"]["products"]) == 1
    from tests.learning.factories import ProgramFactory

    ProgramFactory(department=web)
    programs = api.get("/api/v2/commerce/catalog", {"type": "program"}, **service("catalog:read")).json()
    assert [p["type"] for p in programs["data"]["products"]] == ["program"]
    course_class = _published_class(CourseFactory(department=web, title="Three"))
    classes = api.get("/api/v2/commerce/catalog", {"type": "class"}, **service("catalog:read")).json()
    assert [(p["type"], p["externalId"]) for p in classes["data"]["products"]] == [("class", str(course_class.pk))]
    fields(classes["data"]["products"][0]["metadata"], {"departmentId": str, "departmentName": str})
    since = api.get("/api/v2/commerce/catalog", {"updatedSince": "2999-01-01T00:00:00Z"},
                    **service("catalog:read")).json()
    assert since["data"]["products"] == []
    error_of(api.get("/api/v2/commerce/catalog", **service("users:read")), 403, "insufficient_scope")
    error_of(api.get("/api/v2/commerce/catalog"), 401)


# --- 6.3 Service token -----------------------------------------------------------------------------------------

def test_6_3_service_token():
    from django.contrib.auth.hashers import make_password

    ServiceClientFactory(client_id="commerce-service", secret_hash=make_password("s3cret-s3cret-s3cret"),
                         scopes=["entitlements:write", "catalog:read", "catalog:write", "revenue:write"])
    api = APIClient()
    response = api.post("/api/v2/auth/service-token", {"clientId": "commerce-service",
                                                       "clientSecret": "s3cret-s3cret-s3cret",
                                                       "scope": ["entitlements:write", "catalog:read"]},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    fields(body, {"accessToken": str, "expiresIn": int, "scope": list})
    assert body["expiresIn"] == 3600 and body["scope"] == ["entitlements:write", "catalog:read"]
    export = api.get("/api/v2/commerce/catalog", **bearer(body["accessToken"]))
    assert export.status_code == 200
    writes = api.post("/api/v2/auth/service-token", {"clientId": "commerce-service",
                                                     "clientSecret": "s3cret-s3cret-s3cret",
                                                     "scope": ["catalog:write", "revenue:write"]}, format="json")
    assert writes.status_code == 200 and writes.json()["scope"] == ["catalog:write", "revenue:write"]
    error_of(api.get("/api/v2/commerce/catalog", **bearer(writes.json()["accessToken"])), 403, "insufficient_scope")
    error_of(api.post("/api/v2/auth/service-token", {"clientId": "commerce-service", "clientSecret": "wrong",
                                                     "scope": ["catalog:read"]}, format="json"), 401)
    error_of(api.post("/api/v2/auth/service-token", {"clientId": "nobody", "clientSecret": "wrong",
                                                     "scope": ["catalog:read"]}, format="json"), 401)


# --- 9.3 webhook headers ---------------------------------------------------------------------------------------

def test_9_3_webhook_signature_is_required():
    body = encode_json(_sync(_sync_item("c-9")))
    client = Client()
    error_of(client.post("/api/v1/catalog/sync", data=body, content_type="application/json"), 401)
    stale = signed_post(client, "/api/v1/catalog/sync", body, now=timezone.now() - timedelta(minutes=6))
    error_of(stale, 401)
    forged = signed_post(client, "/api/v1/catalog/sync", body, override={"X-Webhook-Signature": "sha256=" + "0" * 64})
    error_of(forged, 401)


# --- identity (dj-rest-auth, simplejwt) ------------------------------------------------------------------------

def test_registration_login_refresh_user_logout():
    api = APIClient()
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    registered = api.post("/api/v1/auth/registration/", {"email": email, "password1": PASSWORD,
                                                         "password2": PASSWORD}, format="json")
    assert registered.status_code == 201, registered.content
    login = api.post("/api/v1/auth/login/", {"email": email, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    body = login.json()
    fields(body, {"access": str, "refresh": str, "user": dict})
    fields(body["user"], {"id": str, "email": str, "commerceRoles": list})
    me = api.get("/api/v1/auth/user/", **bearer(body["access"]))
    assert me.status_code == 200
    fields(me.json(), {"id": str, "email": str, "commerceRoles": list})
    assert me.json()["email"] == email and set(me.json()["commerceRoles"]) <= COMMERCE_ROLES
    refreshed = api.post("/api/v1/auth/token/refresh/", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    fields(refreshed.json(), {"access": str, "refresh": str})
    assert refreshed.json()["refresh"] != body["refresh"]
    reused = api.post("/api/v1/auth/token/refresh/", {"refresh": body["refresh"]}, format="json")
    error_of(reused, 401)
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": refreshed.json()["refresh"]},
                    format="json").status_code == 401, "reuse of a rotated refresh token revokes the family"

    again = api.post("/api/v1/auth/login/", {"email": email, "password": PASSWORD}, format="json").json()
    out = api.post("/api/v1/auth/logout/", {"refresh": again["refresh"]}, format="json", **bearer(again["access"]))
    assert out.status_code in (200, 204), out.content
    error_of(api.get("/api/v1/auth/user/", **bearer(again["access"])), 401)
    assert api.post("/api/v1/auth/token/refresh/", {"refresh": again["refresh"]}, format="json").status_code == 401
    error_of(api.post("/api/v1/auth/login/", {"email": email, "password": "wrong-password"}, format="json"), 400)


def test_login_with_mfa_has_a_second_step():
    import time

    from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

    user = UserFactory(verified=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    api = APIClient()
    step = api.post("/api/v1/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert step.status_code == 200, step.content
    assert "access" not in step.json() and step.json()["mfaRequired"] is True
    done = api.post("/api/v1/auth/login/mfa/", {"mfaToken": step.json()["mfaToken"],
                                                "code": format_hotp_value(hotp_value(secret, int(time.time()) // 30))},
                    format="json")
    assert done.status_code == 200, done.content
    fields(done.json(), {"access": str, "refresh": str, "user": dict})
    fields(done.json()["user"], {"id": str, "email": str, "commerceRoles": list})


# --- revenue releases, enrollment status, stripe ---------------------------------------------------------------

def test_revenue_releases():
    from integration.ports.identity import identity_port

    platform = str(identity_port().platform_payee().id)
    instructor = str(UserFactory().pk)
    event_id = f"evt-{uuid.uuid4()}"
    sale = {"eventId": event_id, "type": "course_sale", "orderId": str(uuid.uuid4()),
            "productExternalId": "course-1", "totalAmount": "100.00", "currency": "USD",
            "splits": [{"payeeUserId": instructor, "amount": "70.00", "reason": "instructor_share", "hold": True},
                       {"payeeUserId": platform, "amount": "30.00", "reason": "platform_fee"}],
            "occurredAt": timezone.now().isoformat()}
    assert webhook("/api/v1/revenue/events", {"source": "lms", "idempotencyKey": str(uuid.uuid4()),
                                              "events": [sale]}, source="lms").status_code == 200
    payload = {"idempotencyKey": str(uuid.uuid4()),
               "releases": [{"eventId": event_id, "payeeUserId": instructor, "action": "release"}]}
    response = webhook("/api/v1/revenue/releases", payload, source="lms")
    assert response.status_code == 200, response.content
    body = response.json()
    fields(body, {"success": bool, "results": list})
    for result in body["results"]:
        fields(result, {"eventId": str, "payeeUserId": str, "status": str}, {"error": str})
    bad = dict(payload, idempotencyKey=str(uuid.uuid4()),
               releases=[{"eventId": event_id, "payeeUserId": instructor, "action": "sideways"}])
    error_of(webhook("/api/v1/revenue/releases", bad, source="lms"), 400)


def test_enrollment_status_webhook():
    payload = {"source": "lms", "event": "enrollment.approved",
               "payload": {"enrollmentId": "enr-x", "orderId": str(uuid.uuid4()), "orderItemId": str(uuid.uuid4()),
                           "status": "approved", "approvedAt": timezone.now().isoformat(),
                           "approvedBy": "auto-approval"}}
    unsigned = Client().post("/api/v1/webhooks/enrollment-status", data=json.dumps(payload),
                             content_type="application/json")
    error_of(unsigned, 401)
    answer = signed_post(Client(), "/api/v1/webhooks/enrollment-status", json.dumps(payload).encode(),
                         key=str(uuid.uuid4()))
    error_of(answer, 422, "unknown_order_line")  # a line not in that order: a 4xx with the error shape


def test_stripe_webhook_needs_stripes_signature(settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    response = Client().post("/api/v1/webhooks/stripe", data=b"{}", content_type="application/json",
                             HTTP_STRIPE_SIGNATURE="t=1,v1=00")
    assert 400 <= response.status_code < 500
    error_of(response, response.status_code)


# --- storefront ------------------------------------------------------------------------------------------------

PRODUCT = {"id": str, "externalId": str, "type": str, "name": str, "price": (str, int, float), "currency": str}


def test_product_list_and_detail_are_public():
    ProductFactory(name="Pandas basics", metadata={"departmentId": "d-1", "departmentName": "Data"})
    ProductFactory(name="Other", type="program", metadata={"departmentId": "d-2", "departmentName": "X"})
    api = APIClient()
    listing = api.get("/api/v1/catalog/products/")
    assert listing.status_code == 200
    results = page(listing.json())
    assert len(results) == 2
    for product in results:
        fields(product, PRODUCT)
        money(product["price"])
    assert [p["name"] for p in page(api.get("/api/v1/catalog/products/", {"q": "Pandas"}).json())] == ["Pandas basics"]
    assert [p["type"] for p in page(api.get("/api/v1/catalog/products/", {"type": "program"}).json())] == ["program"]
    assert [p["name"] for p in page(api.get("/api/v1/catalog/products/", {"departmentId": "d-1"}).json())] == [
        "Pandas basics"]
    detail = api.get(f"/api/v1/catalog/products/{results[0]['id']}/")
    assert detail.status_code == 200
    fields(detail.json(), PRODUCT)
    error_of(api.get(f"/api/v1/catalog/products/{uuid.uuid4()}/"), 404)


def test_cart_items_and_coupon(learner):
    product = ProductFactory(suggested_price=Decimal("100.00"))
    CouponFactory(code="SAVE10", percent_off=Decimal("10"))
    api = APIClient()
    auth = as_user(learner)
    cart = api.get("/api/v1/cart/", **auth)
    assert cart.status_code == 200
    added = api.post("/api/v1/cart/items/", {"productId": str(product.pk), "quantity": 1}, format="json", **auth)
    assert added.status_code in (200, 201), added.content
    cart = api.get("/api/v1/cart/", **auth).json()
    fields(cart, {"items": list})
    (item,) = cart["items"]
    fields(item, {"id": str, "productId": str})
    assert item["productId"] == str(product.pk)
    coupon = api.post("/api/v1/cart/coupon/", {"code": "SAVE10"}, format="json", **auth)
    assert coupon.status_code == 200, coupon.content
    error_of(api.post("/api/v1/cart/coupon/", {"code": "NOPE"}, format="json", **auth), 404)
    error_of(api.post("/api/v1/cart/items/", {"productId": str(uuid.uuid4())}, format="json", **auth), 404)
    removed = api.delete(f"/api/v1/cart/items/{item['id']}/", **auth)
    assert removed.status_code in (200, 204)
    assert api.get("/api/v1/cart/", **auth).json()["items"] == []


ORDER_STATUSES = {"pending", "paid", "completed", "payment_failed", "partially_refunded", "refunded", "canceled"}
LINE_STATUSES = {"pending", "granted", "pending_approval", "failed", "revoked"}


def _buyable():
    course = CourseFactory()
    return ProductFactory(external_id=str(course.pk), suggested_price=Decimal("199.00")), course


def _checkout(api, auth, product) -> dict:
    assert api.post("/api/v1/cart/items/", {"productId": str(product.pk)}, format="json",
                    **auth).status_code in (200, 201)
    response = api.post("/api/v1/checkout/", {}, format="json", **auth)
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_checkout_pay_orders_refund(learner):
    product, _course = _buyable()
    api = APIClient()
    auth = as_user(learner)
    checkout = _checkout(api, auth, product)
    fields(checkout, {"orderId": str, "status": str, "totals": dict, "payment": dict})
    assert checkout["status"] in ORDER_STATUSES
    fields(checkout["payment"], {"provider": str}, {"clientSecret": str})
    for name in ("subtotal", "discount", "tax", "total"):
        money(checkout["totals"][name])
    order_id = checkout["orderId"]
    paid = api.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"}, format="json", **auth)
    assert paid.status_code == 200, paid.content
    assert paid.json()["status"] in {"paid", "completed"}
    deliver()

    order = api.get(f"/api/v1/orders/{order_id}/", **auth)
    assert order.status_code == 200
    body = order.json()
    fields(body, {"id": str, "status": str, "lines": list})
    assert body["id"] == order_id and body["status"] == "completed"
    (line,) = body["lines"]
    fields(line, {"id": str, "entitlementStatus": str, "enrollmentId": str})
    assert line["entitlementStatus"] == "granted"
    assert line["enrollmentId"] == str(Enrollment.objects.get().pk)
    listed = page(api.get("/api/v1/orders/", **auth).json())
    assert [o["id"] for o in listed] == [order_id] and listed[0]["status"] in ORDER_STATUSES

    again = api.post("/api/v1/cart/items/", {"productId": str(product.pk)}, format="json", **auth)
    if again.status_code in (200, 201):
        again = api.post("/api/v1/checkout/", {}, format="json", **auth)
    error_of(again, 409, "already_owned")

    stranger = as_user(UserFactory(verified=True))
    assert api.get(f"/api/v1/orders/{order_id}/", **stranger).status_code == 404
    refund = api.post(f"/api/v1/orders/{order_id}/refunds/", {"reason": "changed my mind"}, format="json", **auth)
    assert refund.status_code in (200, 201), refund.content
    deliver()
    after = api.get(f"/api/v1/orders/{order_id}/", **auth).json()
    assert after["status"] == "refunded" and after["lines"][0]["entitlementStatus"] == "revoked"
    assert {after["status"]} <= ORDER_STATUSES and after["lines"][0]["entitlementStatus"] in LINE_STATUSES


def test_checkout_takes_coupon_and_country_and_refunds_take_an_amount(learner):
    CouponFactory(code="SAVE10", percent_off=Decimal("10"))
    product, _course = _buyable()
    api = APIClient()
    auth = as_user(learner)
    assert api.post("/api/v1/cart/items/", {"productId": str(product.pk)}, format="json",
                    **auth).status_code in (200, 201)
    checkout = api.post("/api/v1/checkout/", {"couponCode": "SAVE10", "billingCountry": "US"}, format="json",
                        **auth)
    assert checkout.status_code in (200, 201), checkout.content
    totals = checkout.json()["totals"]
    assert money(totals["discount"]) == Decimal("19.90") and money(totals["subtotal"]) == Decimal("199.00")
    order_id = checkout.json()["orderId"]
    assert api.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"}, format="json",
                    **auth).status_code == 200
    deliver()
    order = api.get(f"/api/v1/orders/{order_id}/", **auth).json()
    line_id = order["lines"][0]["id"]
    partial = api.post(f"/api/v1/orders/{order_id}/refunds/", {"lineIds": [line_id], "amount": "10.00",
                                                               "reason": "late start"}, format="json", **auth)
    assert partial.status_code in (200, 201), partial.content
    deliver()
    assert api.get(f"/api/v1/orders/{order_id}/", **auth).json()["status"] == "partially_refunded"
    error_of(api.post(f"/api/v1/orders/{order_id}/refunds/", {"amount": "-1", "reason": "x"}, format="json",
                      **auth), 400)


def test_approval_round_trip_and_the_enrollment_status_webhook(learner, sso_on):
    """A course that needs approval: the line is pending_approval; the department admin approves; LMS tells
    Commerce through connector 2 (002_…) in its written shape; the signed webhook grants the line."""
    from integration.models import OutboxMessage
    from integration.topics import Topic

    web = department("Approvals")
    course = CourseFactory(department=web, requires_approval=True)
    product = ProductFactory(external_id=str(course.pk), suggested_price=Decimal("50.00"))
    dept_admin = UserFactory(verified=True)
    MembershipFactory(department=web, role="department-admin",
                      user=LmsUserFactory(commerce_user_id=str(dept_admin.pk), email=dept_admin.email,
                                          user_types=["staff"]))
    api = APIClient()
    auth = as_user(learner)
    order_id = _checkout(api, auth, product)["orderId"]
    assert api.post(f"/api/v1/checkout/{order_id}/pay/", {"paymentMethod": "pm_card_visa"}, format="json",
                    **auth).status_code == 200
    deliver()
    line = api.get(f"/api/v1/orders/{order_id}/", **auth).json()["lines"][0]
    assert line["entitlementStatus"] == "pending_approval", line
    enrollment = Enrollment.objects.get()
    assert api.post(f"/api/v2/enrollments/{enrollment.pk}/approve/", **as_user(dept_admin)).status_code == 200
    message = OutboxMessage.objects.filter(topic=Topic.ENROLLMENT_STATUS).latest("created_at")
    sent = message.payload
    # 002 writes "cadence-lms", 000 (newer) calls the LMS "lms" everywhere: the receiver takes both (reported).
    assert sent["source"] in {"lms", "cadence-lms"} and sent["event"] == "enrollment.approved"
    fields(sent["payload"], {"enrollmentId": str, "orderId": str, "orderItemId": str, "status": str,
                             "approvedAt": str, "approvedBy": str})
    assert sent["payload"]["status"] == "approved" and sent["payload"]["orderId"] == order_id
    assert sent["payload"]["orderItemId"] == line["id"]
    body = encode_json({key: value for key, value in sent.items() if key != "idempotencyKey"})
    answer = signed_post(Client(), "/api/v1/webhooks/enrollment-status", body, key=str(uuid.uuid4()))
    assert answer.status_code == 200, answer.content
    assert answer.json()["entitlementStatus"] == "granted"
    after = api.get(f"/api/v1/orders/{order_id}/", **auth).json()
    assert after["lines"][0]["entitlementStatus"] == "granted" and after["status"] == "completed"


def test_pay_declined_and_requires_action(learner):
    api = APIClient()
    auth = as_user(learner)
    declined = _checkout(api, auth, _buyable()[0])
    error_of(api.post(f"/api/v1/checkout/{declined['orderId']}/pay/", {"paymentMethod": "pm_card_chargeDeclined"},
                      format="json", **auth), 402, "card_declined")
    buyer = as_user(UserFactory(verified=True))
    three_ds = _checkout(api, buyer, _buyable()[0])
    step = api.post(f"/api/v1/checkout/{three_ds['orderId']}/pay/",
                    {"paymentMethod": "pm_card_authenticationRequired"}, format="json", **buyer)
    assert step.status_code == 200, step.content
    assert step.json()["requiresAction"] is True and isinstance(step.json()["clientSecret"], str)


# --- payouts ---------------------------------------------------------------------------------------------------

def _payee_with_a_sale():
    from integration.ports.identity import identity_port

    platform = str(identity_port().platform_payee().id)
    payee = UserFactory(verified=True)
    event = {"eventId": f"evt-{uuid.uuid4()}", "type": "course_sale", "orderId": str(uuid.uuid4()),
             "productExternalId": "course-1", "totalAmount": "100.00", "currency": "USD",
             "splits": [{"payeeUserId": str(payee.pk), "amount": "70.00", "reason": "instructor_share"},
                        {"payeeUserId": platform, "amount": "30.00", "reason": "platform_fee"}],
             "occurredAt": timezone.now().isoformat()}
    assert webhook("/api/v1/revenue/events", {"source": "lms", "idempotencyKey": str(uuid.uuid4()),
                                              "events": [event]}, source="lms").status_code == 200
    return payee


def test_payouts_balance_ledger_list_statement(admin):
    payee = _payee_with_a_sale()
    api = APIClient()
    auth = as_user(payee)
    balance = api.get("/api/v1/payouts/balance/", **auth)
    assert balance.status_code == 200
    fields(balance.json(), {"availableBalance": (str, int, float), "pendingBalance": (str, int, float),
                            "currency": str})
    assert balance.json()["currency"] == "USD"
    assert Decimal(str(balance.json()["pendingBalance"])) + Decimal(str(balance.json()["availableBalance"])) == 70
    ledger = page(api.get("/api/v1/payouts/ledger/", **auth).json())
    assert [Decimal(row["amount"]) for row in ledger] == [Decimal("70.00")]
    assert page(api.get("/api/v1/payouts/", **auth).json()) == []
    platform_rows = api.get("/api/v1/payouts/ledger/?payee=platform", **as_user(admin))
    assert platform_rows.status_code == 200 and page(platform_rows.json())
    error_of(api.get("/api/v1/payouts/ledger/?payee=platform", **auth), 403)
    period = timezone.now().strftime("%Y-%m")
    csv = api.get(f"/api/v1/payouts/statements/{period}.csv", **auth)
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")


def test_payouts_money_has_the_currency_minor_digits():
    payee = _payee_with_a_sale()
    api = APIClient()
    auth = as_user(payee)
    balance = api.get("/api/v1/payouts/balance/", **auth).json()
    money(balance["availableBalance"])
    money(balance["pendingBalance"])
    for row in page(api.get("/api/v1/payouts/ledger/", **auth).json()):
        money(row["amount"])


def test_schema_and_docs():
    api = APIClient()
    schema = api.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    document = json.loads(schema.content)
    assert document["openapi"].startswith("3.")
    written = ["/api/v1/auth/validate-token", "/api/v1/catalog/sync", "/api/v1/revenue/events",
               "/api/v1/users/{userId}/roles", "/api/v2/auth/sso/user", "/api/v2/webhooks/commerce/entitlement",
               "/api/v2/commerce/catalog", "/api/v2/auth/service-token"]
    assert not [p for p in written if p not in document["paths"]]
    assert api.get("/api/v1/docs/").status_code == 200


# --- LMS learning API ------------------------------------------------------------------------------------------

@pytest.fixture
def sso_on():
    """Identity phase 2: the LMS takes the store's Bearer tokens (phase 1 answers sso_not_enabled)."""
    from identity.services.phases import identity_phase_set
    from learning.selectors import identity_phase_forget

    identity_phase_set(phase=2, reason="contract tests", actor="tests")
    identity_phase_forget()


@pytest.fixture
def lms_admin(sso_on):
    """A Commerce account that is an LMS global admin (as seed_demo's admin@example.com)."""
    user = UserFactory(verified=True)
    LmsUserFactory(commerce_user_id=str(user.pk), email=user.email, user_types=["staff", "global-admin"])
    return user


def test_lms_departments_programs_courses(lms_admin):
    api = APIClient()
    auth = as_user(lms_admin)
    root = api.post("/api/v2/departments/", {"name": "Engineering"}, format="json", **auth)
    assert root.status_code == 201, root.content
    fields(root.json(), {"id": str, "name": str})
    child = api.post("/api/v2/departments/", {"name": "Web", "parentId": root.json()["id"]}, format="json", **auth)
    assert child.status_code == 201 and child.json()["parentId"] == root.json()["id"]
    assert {d["name"] for d in page(api.get("/api/v2/departments/", **auth).json())} >= {"Engineering", "Web"}
    dept = child.json()["id"]
    created = api.post("/api/v2/courses/", {"departmentId": dept, "title": "APIs", "description": "d",
                                            "suggestedPrice": "120.00", "currency": "USD", "durationWeeks": 3,
                                            "requiresApproval": False}, format="json", **auth)
    assert created.status_code == 201, created.content
    course = created.json()
    fields(course, {"id": str, "departmentId": str, "title": str, "description": str, "currency": str,
                    "status": str, "requiresApproval": bool}, {"durationWeeks": int})
    assert money(course["suggestedPrice"]) == Decimal("120.00") and course["departmentId"] == dept
    assert [c["id"] for c in page(api.get("/api/v2/courses/", **auth).json())] == [course["id"]]
    program = api.post("/api/v2/programs/", {"departmentId": dept, "title": "Track", "description": "d",
                                             "suggestedPrice": "300.00", "currency": "USD"}, format="json", **auth)
    assert program.status_code == 201, program.content
    assert page(api.get("/api/v2/programs/", **auth).json())
    lesson = api.post(f"/api/v2/courses/{course['id']}/lessons/", {"title": "One", "body": "Text"}, format="json",
                      **auth)
    assert lesson.status_code == 201, lesson.content
    assert page(api.get(f"/api/v2/courses/{course['id']}/lessons/", **auth).json())
    exam = api.post(f"/api/v2/courses/{course['id']}/exams/", {"title": "Quiz", "passMark": 60, "questions": [
        {"kind": "multiple_choice", "prompt": "?", "choices": ["a", "b"], "correctChoice": 1}]}, format="json",
        **auth)
    assert exam.status_code == 201, exam.content
    assert page(api.get(f"/api/v2/courses/{course['id']}/exams/", **auth).json())
    LmsUserFactory(email="teacher@example.com")
    LmsUserFactory(email="maker@example.com")
    for email, role in (("teacher@example.com", "instructor"), ("maker@example.com", "content-creator")):
        staff = api.post(f"/api/v2/courses/{course['id']}/staff/", {"email": email, "role": role}, format="json",
                         **auth)
        assert staff.status_code == 201, staff.content
        assert staff.json()["role"] == role
    error_of(api.post(f"/api/v2/courses/{course['id']}/staff/", {"email": "teacher@example.com", "role": "boss"},
                      format="json", **auth), 400)
    published = api.post(f"/api/v2/courses/{course['id']}/publish/", **auth)
    assert published.status_code == 200 and published.json()["status"] == "published"
    archived = api.post(f"/api/v2/courses/{course['id']}/archive/", **auth)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    learner_auth = as_user(UserFactory(verified=True))
    error_of(api.post("/api/v2/departments/", {"name": "Mine"}, format="json", **learner_auth), 403)


@pytest.mark.parametrize(("written", "amount"), [("120.00", "120.00"), ("199.99", "199.99"), ("120", "120.00"),
                                                  ('"120.00"', "120.00")])
def test_money_in_is_a_decimal_string_or_a_json_number(lms_admin, written, amount):
    """API.md: money is "199.00" or 199.00, "both are accepted on input". DRF's parser reads the number as a
    float, which the money field refused ("not a binary float") on the LMS API before."""
    auth = as_user(lms_admin)
    dept = APIClient().post("/api/v2/departments/", {"name": "Money"}, format="json", **auth).json()["id"]
    for path, extra in (("/api/v2/courses/", {}), ("/api/v2/programs/", {})):
        body = json.dumps({"departmentId": dept, "title": "Priced", "description": "d", "currency": "USD",
                           "suggestedPrice": "PRICE", **extra}).replace('"PRICE"', written)
        created = Client().post(path, data=body, content_type="application/json", **auth)
        assert created.status_code == 201, (path, created.content)
        assert money(created.json()["suggestedPrice"]) == Decimal(amount)
    # Read as written, not as the float it rounds to: 199.000000000000001 is the float 199.0, but it has more
    # than 4 decimal places, so it is refused like the string "199.000000000000001".
    for too_exact in ("0.30000000000000004", "199.000000000000001", "1e400"):
        body = json.dumps({"departmentId": dept, "title": "T", "description": "d", "currency": "USD",
                           "suggestedPrice": "PRICE"}).replace('"PRICE"', too_exact)
        error_of(Client().post("/api/v2/courses/", data=body, content_type="application/json", **auth), 400,
                 "validation_error")


def test_lms_revenue_config(lms_admin):
    UserFactory(email="teach@example.com")
    UserFactory(email="make@example.com")
    course = CourseFactory()
    api = APIClient()
    auth = as_user(lms_admin)
    body = {"instructorEmail": "teach@example.com", "instructorSplit": "0.30", "creatorEmail": "make@example.com",
            "creatorSplit": "0.40", "platformSplit": "0.30", "affiliateSplit": "0", "basis": "net",
            "releasePolicy": "on_sale", "effectiveDate": "2026-01-01"}
    put = api.put(f"/api/v2/courses/{course.pk}/revenue-config/", body, format="json", **auth)
    assert put.status_code in (200, 201), put.content
    got = api.get(f"/api/v2/courses/{course.pk}/revenue-config/", **auth)
    assert got.status_code == 200, got.content
    config = got.json()
    fields(config, {"instructorSplit": (str, int, float), "creatorSplit": (str, int, float),
                    "platformSplit": (str, int, float), "basis": str, "releasePolicy": str, "effectiveDate": str},
           {"instructorEmail": str, "creatorEmail": str, "affiliateSplit": (str, int, float)})
    assert Decimal(str(config["instructorSplit"])) == Decimal("0.30") and config["basis"] == "net"
    error_of(api.put(f"/api/v2/courses/{course.pk}/revenue-config/", dict(body, platformSplit="0.50"),
                     format="json", **auth), 422, "revenue_shares_not_one")


def test_lms_learner_journey(learner, sso_on):
    lms_user = LmsUserFactory(commerce_user_id=str(learner.pk), email=learner.email, user_types=["learner"])
    course = CourseFactory()
    lesson = LessonFactory(course=course)
    question = QuestionFactory(exam__course=course)
    enrollment = EnrollmentFactory(user=lms_user, course=course)
    api = APIClient()
    auth = as_user(learner)
    mine = page(api.get("/api/v2/me/enrollments/", **auth).json())
    assert [e["id"] for e in mine] == [str(enrollment.pk)]
    fields(mine[0], {"id": str, "status": str})
    progress = api.post(f"/api/v2/enrollments/{enrollment.pk}/progress/", {"lessonId": str(lesson.pk)},
                        format="json", **auth)
    assert progress.status_code == 200, progress.content
    attempt = api.post(f"/api/v2/exams/{question.exam_id}/attempts/", {"answers": {str(question.pk): 1}},
                       format="json", **auth)
    assert attempt.status_code == 201, attempt.content
    assert attempt.json()["passed"] is True
    certificates = page(api.get("/api/v2/me/certificates/", **auth).json())
    assert len(certificates) == 1
    fields(certificates[0], {"url": str})
    public = Client().get(certificates[0]["url"])
    assert public.status_code == 200
    error_of(api.post(f"/api/v2/enrollments/{enrollment.pk}/progress/", {"lessonId": str(lesson.pk)},
                      format="json", **as_user(UserFactory(verified=True))), 404)


def test_lms_approve_reject_interactions(sso_on):
    web = department("Web")
    dept_admin = UserFactory(verified=True)
    MembershipFactory(department=web, role="department-admin",
                      user=LmsUserFactory(commerce_user_id=str(dept_admin.pk), email=dept_admin.email,
                                          user_types=["staff"]))
    course = CourseFactory(department=web, requires_approval=True)
    first = EnrollmentFactory(course=course, status="pending", commerce_order_id="o-1", commerce_order_item_id="l-1")
    second = EnrollmentFactory(course=course, status="pending", commerce_order_id="o-2", commerce_order_item_id="l-2")
    api = APIClient()
    auth = as_user(dept_admin)
    approved = api.post(f"/api/v2/enrollments/{first.pk}/approve/", **auth)
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    rejected = api.post(f"/api/v2/enrollments/{second.pk}/reject/", **auth)
    assert rejected.status_code == 200, rejected.content
    error_of(api.post(f"/api/v2/enrollments/{first.pk}/reject/", **auth), 409)
    for kind in ("discussion_reply", "assignment_graded", "live_session_minutes", "manual_verification"):
        done = api.post(f"/api/v2/enrollments/{first.pk}/interactions/", {"kind": kind, "quantity": 1},
                        format="json", **auth)
        assert done.status_code == 201, (kind, done.content)
        assert done.json()["kind"] == kind
    error_of(api.post(f"/api/v2/enrollments/{first.pk}/interactions/", {"kind": "chat"}, format="json", **auth),
             400)


# --- operations and conventions --------------------------------------------------------------------------------

def test_operations(django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(0):
        health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and "Location" not in ready
    metrics = client.get("/metrics")
    assert metrics.status_code in (200, 401, 403, 404)
    if metrics.status_code == 200:
        assert metrics["Content-Type"].startswith("text/plain")


def test_list_convention(learner):
    ProductFactory.create_batch(105)
    api = APIClient()
    first = api.get("/api/v1/catalog/products/").json()
    assert len(page(first)) == 20 and first["next"] and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(page(second)) == 20 and second["previous"]
    assert len(page(api.get("/api/v1/catalog/products/", {"limit": 500}).json())) == 100
    assert len(page(api.get("/api/v1/catalog/products/", {"limit": 7}).json())) == 7
    error_of(api.get("/api/v1/catalog/products/", {"cursor": "garbage"}), 404)


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("get", "/api/v1/no-such-endpoint", 404, "not_found"), ("get", "/api/v2/no-such-endpoint/", 404, "not_found"),
    ("get", "/api/v1/catalog/sync", 405, "method_not_allowed"),
    ("put", "/api/v1/catalog/products/", 405, "method_not_allowed")])
def test_unknown_paths_and_methods_answer_the_error_shape(method, path, status, code):
    error_of(getattr(APIClient(), method)(path), status, code)


@pytest.mark.parametrize("path", ["/api/v1/cart/", "/api/v1/orders/", "/api/v1/payouts/balance/",
                                  "/api/v1/auth/user/", "/api/v2/me/enrollments/", "/api/v2/departments/"])
def test_anonymous_is_401_with_the_error_shape(path):
    error_of(APIClient().get(path), 401)


# The revenue-event contracts are sent for orders no checkout made here: they count as paid in USD.
_orders_paid = orders_paid_fixture(any_currency="USD")
