"""The webhook receivers' plumbing: JSON, contract, inbox, receiver availability, URLs and schema."""

import json
from decimal import Decimal

import pytest
from django.urls import resolve

from integration import routes
from integration.errors import ApplicationError
from integration.models import InboxEntry
from tests.integration.conftest import RecordingHandler, remove_handler, signed_post, use_handler
from tests.integration.factories import catalog_sync_payload, revenue_event_payload

pytestmark = pytest.mark.django_db
PATH = "/api/v1/catalog/sync"


def test_numbers_arrive_as_decimal_never_float(client, catalog_handler):
    body = b'{"source":"lms","idempotencyKey":"k1","products":[{"action":"upsert","externalId":"c1",' \
           b'"type":"course","name":"C","suggestedPrice":199.10,"currency":"USD"}]}'
    assert signed_post(client, PATH, body, key="k1").status_code == 200
    price = catalog_handler.calls[0][0]["products"][0]["suggestedPrice"]
    assert isinstance(price, Decimal)
    assert price == Decimal("199.10")


def test_malformed_json_is_400(client, catalog_handler):
    response = signed_post(client, PATH, b'{"source": "lms",')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert catalog_handler.calls == []


def test_nan_is_not_a_number_we_accept(client, catalog_handler):
    body = json.dumps(catalog_sync_payload()).replace('"199.00"', "NaN").encode()
    assert signed_post(client, PATH, body).json()["error"]["code"] == "malformed_json"


def test_a_payload_off_contract_is_400_with_field_details(client, catalog_handler):
    payload = catalog_sync_payload()
    payload["products"][0]["type"] = "webinar"
    response = signed_post(client, PATH, json.dumps(payload).encode())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert "type" in error["details"]["products"]["0"]
    assert not InboxEntry.objects.exists()


def test_a_repeat_answers_the_stored_response(client, catalog_handler):
    body = json.dumps(catalog_sync_payload()).encode()
    first = signed_post(client, PATH, body, key="k-repeat")
    second = signed_post(client, PATH, body, key="k-repeat")
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert len(catalog_handler.calls) == 1


def test_a_reused_key_with_another_body_is_422(client, catalog_handler):
    signed_post(client, PATH, json.dumps(catalog_sync_payload()).encode(), key="k-reuse")
    response = signed_post(client, PATH, json.dumps(catalog_sync_payload()).encode(), key="k-reuse")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_without_a_registered_handler_the_answer_is_a_retryable_503(client):
    remove_handler("catalog.sync")
    response = signed_post(client, PATH, json.dumps(catalog_sync_payload()).encode())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "receiver_unavailable"
    assert not InboxEntry.objects.exists()


def test_the_handlers_rejection_is_answered_and_the_key_released(client):
    use_handler("catalog.sync", RecordingHandler(fail_times=1, error=ApplicationError(
        "No such department.", code="unknown_department", status_code=422)))
    body = json.dumps(catalog_sync_payload()).encode()
    response = signed_post(client, PATH, body, key="k-reject")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_department"
    assert signed_post(client, PATH, body, key="k-reject").status_code == 200


def test_the_revenue_receiver_checks_that_splits_sum_to_the_total(client):
    handler = RecordingHandler(answer={"success": True, "processed": 1, "results": []})
    use_handler("revenue.events", handler)
    good = revenue_event_payload()
    assert signed_post(client, "/api/v1/revenue/events", json.dumps(good).encode()).status_code == 200
    event = handler.calls[0][0]["events"][0]
    assert sum(split["amount"] for split in event["splits"]) == event["totalAmount"] == Decimal("192.93")
    bad = revenue_event_payload()
    bad["events"][0]["splits"][0]["amount"] = "57.87"
    response = signed_post(client, "/api/v1/revenue/events", json.dumps(bad).encode(), key="k2")
    assert response.json()["error"]["details"]["events"]["0"]["splits"]


def test_every_signed_topic_is_mounted_at_its_exact_path_without_trailing_slash(client):
    for topic, route in routes.TOPICS.items():
        if route.auth != routes.SIGNED:
            continue
        assert resolve(route.path).func.view_class.topic == topic
        response = client.post(route.path + "/", data=b"{}", content_type="application/json")
        assert response.status_code == 404, f"{route.path}/ must not redirect"


def test_only_post_is_accepted(client):
    assert client.get(PATH).status_code == 405


def test_the_webhooks_are_in_the_openapi_schema_with_their_contracts():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/catalog/sync"]["post"]
    assert operation["operationId"] == "webhook_catalog_sync"
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CatalogSyncRequestRequest")
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CatalogSyncResponse")
    assert {"X-Webhook-Signature", "X-Webhook-Timestamp", "X-Idempotency-Key", "X-Source-Service"} <= {
        parameter["name"] for parameter in operation["parameters"]}
    for path in ("/api/v1/revenue/events", "/api/v1/revenue/releases", "/api/v1/webhooks/enrollment-status",
                 "/api/v2/webhooks/commerce/entitlement", "/api/v2/webhooks/commerce/user-erased"):
        assert "post" in schema["paths"][path]
