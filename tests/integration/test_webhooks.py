"""The webhook receivers' plumbing: JSON, contract, inbox, receiver availability, URLs and schema."""

import json
from decimal import Decimal

import pytest
from django.urls import resolve

from integration import routes
from integration.errors import UnprocessableError
from integration.models import InboxEntry
from integration.transport import sender_of
from tests.integration.conftest import RecordingHandler, remove_handler, signed_post, use_handler
from tests.integration.factories import catalog_sync_payload, revenue_event_payload

pytestmark = pytest.mark.django_db
PATH = "/api/v1/catalog/sync"


class UnknownDepartment(UnprocessableError):
    code = "unknown_department"
    default_message = "No such department."


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
    payload["source"] = "elsewhere"
    response = signed_post(client, PATH, json.dumps(payload).encode())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert "source" in error["details"]
    assert not InboxEntry.objects.exists()


def test_a_repeat_answers_the_stored_response(client, catalog_handler):
    body = json.dumps(catalog_sync_payload(idempotencyKey="k-repeat")).encode()
    first = signed_post(client, PATH, body, key="k-repeat")
    second = signed_post(client, PATH, body, key="k-repeat")
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert len(catalog_handler.calls) == 1


def test_a_reused_key_with_another_body_is_422(client, catalog_handler):
    signed_post(client, PATH, json.dumps(catalog_sync_payload(idempotencyKey="k-reuse")).encode())
    other = catalog_sync_payload(idempotencyKey="k-reuse", external_id="course-202")
    response = signed_post(client, PATH, json.dumps(other).encode())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_without_a_registered_handler_the_answer_is_a_retryable_503(client):
    remove_handler("catalog.sync")
    response = signed_post(client, PATH, json.dumps(catalog_sync_payload()).encode())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "receiver_unavailable"
    assert not InboxEntry.objects.exists()


def test_the_handlers_rejection_is_answered_and_the_key_released(client):
    use_handler("catalog.sync", RecordingHandler(fail_times=1, error=UnknownDepartment()))
    body = json.dumps(catalog_sync_payload(idempotencyKey="k-reject")).encode()
    response = signed_post(client, PATH, body, key="k-reject")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_department"
    assert signed_post(client, PATH, body, key="k-reject").status_code == 200


def test_splits_that_do_not_sum_reach_the_revenue_receiver_which_answers_per_event(client):
    """Spec 6.1.3: such an event is answered ``failed`` by the receiver (tests/payouts), not a 400 for the batch."""
    handler = RecordingHandler(answer={"success": True, "processed": 1, "results": []})
    use_handler("revenue.events", handler)
    good = revenue_event_payload()
    assert signed_post(client, "/api/v1/revenue/events", json.dumps(good).encode()).status_code == 200
    event = handler.calls[0][0]["events"][0]
    assert sum(split["amount"] for split in event["splits"]) == event["totalAmount"] == Decimal("192.93")
    bad = revenue_event_payload()
    bad["events"][0]["splits"][0]["amount"] = "57.87"
    response = signed_post(client, "/api/v1/revenue/events", json.dumps(bad).encode())
    assert response.status_code == 200
    assert handler.calls[1][0]["events"][0]["splits"][0]["amount"] == Decimal("57.87")


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


# --- a captured webhook replayed under a new key (issue 8 item 7) ---------------------------

def test_a_captured_body_replayed_under_another_header_key_is_refused(client, catalog_handler):
    body = json.dumps(catalog_sync_payload(idempotencyKey="sync-original")).encode()
    assert signed_post(client, PATH, body).status_code == 200
    # The same signed body, a fresh timestamp and a new X-Idempotency-Key: the inbox alone saw a new key.
    replay = signed_post(client, PATH, body, key="sync-replayed-under-a-new-key")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "idempotency_key_mismatch"
    assert len(catalog_handler.calls) == 1
    assert list(InboxEntry.objects.values_list("idempotency_key", flat=True)) == ["sync-original"]


def test_our_own_topics_carry_the_key_in_the_signed_body():
    from integration.contracts import has_idempotency_key_field

    assert has_idempotency_key_field("identity.user_erased")
    assert has_idempotency_key_field("revenue.releases")


def test_the_outbox_writes_the_messages_key_into_the_body():
    from integration.outbox import outbox_send
    from integration.topics import Topic

    message = outbox_send(topic=Topic.USER_ERASED, aggregate_key="user:u-1",
                          payload={"commerceUserId": "u-1", "erasedAt": "2026-01-01T00:00:00Z"})
    # The HTTP adapter sends message.idempotency_key as X-Idempotency-Key: the same as the signed body's.
    assert message.payload["idempotencyKey"] == message.idempotency_key


def test_json_nested_thousands_deep_is_a_400_not_a_crash(client, catalog_handler):
    body = b"[" * 5000 + b"]" * 5000
    response = signed_post(client, PATH, body, key="k-deep")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert catalog_handler.calls == []


@pytest.mark.parametrize("topic", sorted(topic for topic, route in routes.TOPICS.items()
                                         if route.auth == routes.SIGNED))
def test_a_lone_surrogate_escape_anywhere_is_malformed_not_a_crash(client, topic):
    """``"\\ud800"`` is JSON syntax but not Unicode text: hashing the body or echoing it in an error raised
    UnicodeEncodeError (a 500) on every signed topic before. A pair of escapes is one character and is read."""
    path = routes.TOPICS[topic].path
    source = sender_of(routes.TOPICS[topic])
    for body in (b'{"source":"\\ud800"}', b'{"products":[{"name":"ok \\udfff"}]}', b'{"\\ud800":1}'):
        response = signed_post(client, path, body, key=f"k-sur-{topic}", source=source)
        assert response.status_code == 400, (path, body, response.content)
        assert response.json()["error"]["code"] == "malformed_json"
    assert not InboxEntry.objects.exists()


def test_a_surrogate_pair_is_one_character_and_reaches_the_handler(client, catalog_handler):
    payload = catalog_sync_payload()
    payload["products"][0]["name"] = "PLACEHOLDER"
    body = json.dumps(payload).replace("PLACEHOLDER", "Money \\ud83d\\udcb8").encode()
    assert signed_post(client, PATH, body).status_code == 200
    assert catalog_handler.calls[0][0]["products"][0]["name"] == "Money \U0001f4b8"


@pytest.mark.parametrize("body", [b"null", b"[]", b'"text"', b"42", b"true"])
def test_a_body_that_is_not_an_object_is_a_400_invalid_payload(client, catalog_handler, body):
    """``null`` failed the contract as a whole, with a list of messages where details must be an object:
    dict(list) raised ValueError (a 500)."""
    response = signed_post(client, PATH, body, key="k-not-object")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_payload" and isinstance(error["details"], dict) and error["details"]
    assert catalog_handler.calls == [] and not InboxEntry.objects.exists()


@pytest.mark.parametrize("metadata", ['{"level": "a\\u0000b"}', '{"a\\u0000": 1}', '{"tags": ["x\\u0000"]}'])
def test_a_nul_character_in_an_open_object_is_malformed_not_a_crash_on_postgresql(client, metadata):
    """The contract's open metadata passes unknown keys through, and PostgreSQL stores "\\u0000" in neither
    text nor jsonb: saving the product raised DataError (a 500) there. Refused before the contract now."""
    from catalog.models import Product

    payload = catalog_sync_payload()
    payload["products"][0]["metadata"] = "METADATA"
    response = signed_post(client, PATH, json.dumps(payload).replace('"METADATA"', metadata).encode())
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "malformed_json"
    assert not Product.objects.exists() and not InboxEntry.objects.exists()
