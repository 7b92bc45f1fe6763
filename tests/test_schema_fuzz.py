"""Schema fuzzing: schemathesis generates requests from our own ``/api/v1/schema/`` for every operation.

Each operation runs as three callers: a learner (a Commerce access token; the LMS API takes it too), an
admin (commerce-admin and the LMS's global-admin) and a service (a service token with every scope).
Signed webhooks get a valid signature, so their bodies reach the handlers. The checks: no 5xx, every
status code, content type, header and body as the schema documents it. The requests are answered in
process (WSGI); the data is the demo data, seeded once per module and rolled back after it.

``SCHEMA_FUZZ_STATS=<file>`` appends how the requests were answered (handler vs validation) as JSON lines;
``python bench/bench_schema_fuzz.py`` runs this module with it and prints the shares.
"""

import hashlib
import hmac
import io
import json
import os
import time
import uuid
from collections import Counter

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from integration.openapi import LINKS
from integration.signing import signed_headers

MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "6"))
STATEFUL_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_STATEFUL_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
ACTORS = ["learner", "admin", "service"]
STRIPE_SECRET = "whsec_schema_fuzz"
# The codes the request validation answers with (DRF serializers, parsers, our own validators).
VALIDATION_CODES = {"validation_error", "malformed_request", "missing_header", "unsupported_media_type"}

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
# Positive requests only (the tests under tests/ hold the bad-input cases), no random Authorization header,
# no schemathesis "coverage" phase (it multiplies the requests far past the CI budget).
schema.config.generation.update(modes=["positive"], with_security_parameters=False, max_examples=MAX_EXAMPLES)
schema.config.phases.coverage.enabled = False

answers: Counter = Counter()


@pytest.fixture(scope="module")
def actors(django_db_setup, django_db_blocker):
    """The demo data and the callers' credentials, made once for the module inside a transaction rolled back after."""
    from identity.models import SERVICE_SCOPES, User
    from identity.services.tokens import token_pair_issue
    from integration.service_auth import mint_service_token

    # The WSGI application fires request_started/finished, whose close_old_connections would close the
    # connection holding the test's transaction (on PostgreSQL); Django's own test client disconnects it too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with (django_db_blocker.unblock(),
              override_settings(ARGON2_TIME_COST=1, ARGON2_MEMORY_KIB=1024, ARGON2_PARALLELISM=1,
                                STRIPE_WEBHOOK_SECRET=STRIPE_SECRET),
              transaction.atomic()):
            call_command("seed_demo", stdout=io.StringIO())
            credentials = {
                "learner": token_pair_issue(user=User.objects.get(email="learner@example.com")).access,
                "admin": token_pair_issue(user=User.objects.get(email="admin@example.com")).access,
                "service": mint_service_token(client_id="commerce-service", scopes=list(SERVICE_SCOPES)),
            }
            yield {name: {"Authorization": f"Bearer {token}"} for name, token in credentials.items()}
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    _write_stats()


def _webhook_source(path: str) -> str | None:
    if path.startswith("/api/v2/webhooks/commerce/"):
        return "commerce"
    if path in {"/api/v1/catalog/sync", "/api/v1/revenue/events", "/api/v1/revenue/releases",
                "/api/v1/webhooks/enrollment-status", "/api/v2/webhooks/lms/enrollment-lifecycle"}:
        return "lms"
    return None


def _stripe_signature(body: bytes) -> str:
    timestamp = int(time.time())
    mac = hmac.new(STRIPE_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _classify(response) -> str:
    if response.status_code < 400:
        return "2xx/3xx"
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    if code in VALIDATION_CODES:
        return "400 by validation"
    if response.status_code in (401, 403) and code in {"not_authenticated", "authentication_failed",
                                                       "permission_denied", "insufficient_scope"}:
        return "401/403 by authentication/permission"
    return "4xx by handler"


def _write_stats():
    """One JSON line per module run (per xdist worker): {"<METHOD path>|<bucket>": count}."""
    target = os.environ.get("SCHEMA_FUZZ_STATS")
    if target and answers:
        with open(target, "a") as out:
            out.write(json.dumps(dict(answers)) + "\n")


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS)
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate], derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, actor, actors):
    headers = dict(actors[actor])
    kwargs = {}
    source = _webhook_source(case.operation.path)
    if source and case.media_type == "application/json" and not isinstance(case.body, NotSet):
        body = json.dumps(case.body).encode()
        headers.update(signed_headers(body, idempotency_key=f"fuzz-{uuid.uuid4().hex}", source_service=source))
        kwargs["data"] = body
    if case.operation.path == "/api/v1/webhooks/stripe" and not isinstance(case.body, NotSet):
        body = json.dumps(case.body).encode()
        headers.update({"Content-Type": "application/json", "Stripe-Signature": _stripe_signature(body)})
        kwargs["data"] = body
    response = case.call(headers=headers, **kwargs)
    answers[f"{case.operation.label}|{_classify(response)}"] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.django_db
def test_linked_sequences_answer_as_documented(actors):
    """The schema's links (``integration.openapi.LINKS``) as stateful sequences, as the admin: a department,
    a course, a program or an exam is created, then the operations on it are called with the id answered."""
    created: set[str] = set()
    followed: Counter = Counter()

    linked = schema.include(operation_id=sorted({*LINKS, *(target for targets in LINKS.values() for target in targets)}))

    class AsAdmin(linked.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": dict(actors["admin"])}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            answers[f"{case.operation.label}|{_classify(response)}"] += 1
            if set(map(str, case.path_parameters.values())) & created:
                followed[f"{case.operation.label} {response.status_code}"] += 1
            if response.status_code == 201 and isinstance(response.json(), dict) and "id" in response.json():
                created.add(str(response.json()["id"]))
            case.validate_response(response, checks=CHECKS, headers=actors["admin"])

    AsAdmin.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, deadline=None,
                                  derandomize=True, phases=[Phase.generate],
                                  suppress_health_check=list(HealthCheck)))
    assert created, "no create answered 201: the sequences never started"
    assert any(not step.endswith(" 404") for step in followed), f"no link reached what a create made: {followed}"
