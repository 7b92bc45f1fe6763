"""The wire contracts: exact camelCase names, money as Decimal, the design's additions."""

from datetime import datetime
from decimal import Decimal

import pytest

from integration import contracts, routes
from integration.contracts import InvalidPayloadError, validate_message
from tests.integration.factories import catalog_sync_payload, revenue_event_payload


def test_every_topic_has_a_contract():
    assert set(contracts.TOPIC_CONTRACTS) == set(routes.TOPICS)
    assert set(contracts.PORT_CONTRACTS) == set(routes.PORT_CALLS)


@pytest.mark.parametrize("price", ["199.00", 199, Decimal("199.00")])
def test_money_accepts_decimal_strings_and_exact_numbers(price):
    product = validate_message("catalog.sync", catalog_sync_payload(price=price))["products"][0]
    assert product["suggestedPrice"] == Decimal("199")
    assert isinstance(product["suggestedPrice"], Decimal)


@pytest.mark.parametrize("price", [199.0, "abc", "1.00001", True, "1e20"])
def test_money_refuses_floats_and_nonsense(price):
    with pytest.raises(InvalidPayloadError):
        validate_message("catalog.sync", catalog_sync_payload(price=price))


def test_a_negative_amount_is_refused_where_the_contract_forbids_it():
    # A catalog sync's negative price fails that product alone (its receiver answers per item, spec 6.1.2);
    # a revenue event's splits are never negative.
    payload = revenue_event_payload()
    payload["events"][0]["splits"][0]["amount"] = "-1.00"
    with pytest.raises(InvalidPayloadError):
        validate_message("revenue.events", payload)


def test_metadata_keeps_keys_the_spec_leaves_open():
    metadata = validate_message("catalog.sync", catalog_sync_payload())["products"][0]["metadata"]
    assert metadata == {"departmentId": "dept-1", "durationWeeks": 6, "level": "beginner"}


def test_revenue_event_with_the_designs_additions():
    event = validate_message("revenue.events", revenue_event_payload())["events"][0]
    assert event["grossAmount"] == Decimal("199.00")
    assert event["processorFee"] == Decimal("6.07")
    assert event["splits"][1] == {"payeeUserId": "creator-1", "amount": Decimal("77.17"),
                                  "reason": "creator_share", "hold": True}
    assert isinstance(event["occurredAt"], datetime)
    refund = revenue_event_payload()
    refund["events"][0].update(type="refund", originalEventId="evt-1")
    assert validate_message("revenue.events", refund)["events"][0]["type"] == "refund"


def test_revenue_releases():
    payload = {"idempotencyKey": "rel-1", "releases": [
        {"eventId": "evt-1", "payeeUserId": "creator-1", "action": "release"},
        {"eventId": "evt-1", "payeeUserId": "instructor-1", "action": "forfeit"}]}
    assert validate_message("revenue.releases", payload)["releases"][1]["action"] == "forfeit"
    payload["releases"][0]["action"] = "keep"
    with pytest.raises(InvalidPayloadError):
        validate_message("revenue.releases", payload)


def test_entitlement_grant_as_the_spec_writes_it():
    payload = {
        "event": "entitlement.granted", "idempotencyKey": "ent-1", "orderId": "ord-1",
        "commerceUserId": "user-1", "email": "learner@example.com",
        "items": [{"productType": "course", "externalId": "course-101", "grantedAt": "2025-01-14T10:00:00Z",
                   "metadata": {"orderId": "ord-1", "transactionId": "pi_1", "amount": "199.00",
                                "currency": "USD"}}],
        "signature": "sha256=whatever",
    }
    validated = validate_message("entitlement", payload)
    assert validated["items"][0]["metadata"]["amount"] == Decimal("199.00")
    answer = contracts.EntitlementGrantResponseSerializer(data={
        "success": True, "lmsUserId": "lms-1",
        "results": [{"externalId": "course-101", "status": "pending_approval", "enrollmentId": "enr-1"}]})
    assert answer.is_valid(), answer.errors


def test_enrollment_status_from_connector_two():
    payload = {"source": "cadence-lms", "event": "enrollment.rejected",
               "payload": {"enrollmentId": "enr-1", "orderId": "ord-1", "orderItemId": "line-1",
                           "status": "rejected", "rejectedAt": "2025-01-14T10:05:00Z", "reason": "Full"}}
    assert validate_message("enrollment.status", payload)["payload"]["reason"] == "Full"
    payload["payload"]["status"] = "approved"
    with pytest.raises(InvalidPayloadError):
        validate_message("enrollment.status", payload)


def test_role_grant_and_user_erased():
    grant = validate_message("identity.role_grant", {"userId": "u1", "role": "payee", "reason": "instructor"})
    assert grant == {"userId": "u1", "role": "payee", "reason": "instructor"}
    erased = validate_message("identity.user_erased", {"idempotencyKey": "e1", "commerceUserId": "u1",
                                                       "erasedAt": "2025-01-14T10:00:00Z"})
    assert erased["commerceUserId"] == "u1"


def test_synchronous_answers():
    ok = contracts.ValidateTokenResponseSerializer(data={
        "valid": True, "user": {"id": "u1", "email": "a@example.com", "commerceRoles": ["purchaser"]}})
    assert ok.is_valid(), ok.errors
    bad = contracts.ValidateTokenResponseSerializer(data={"valid": False, "error": {
        "code": "EXPIRED_TOKEN", "message": "Expired."}})
    assert bad.is_valid(), bad.errors
    sso = contracts.SSOUserResponseSerializer(data={"success": True, "data": {"exists": False}})
    assert sso.is_valid(), sso.errors
    export = contracts.CatalogExportResponseSerializer(data={"success": True, "data": {
        "products": [{"externalId": "c1", "type": "course", "name": "C", "description": "", "suggestedPrice": 10,
                      "currency": "USD", "status": "published", "updatedAt": "2025-01-14T10:00:00Z",
                      "metadata": {"departmentId": "d1", "departmentName": "Finance"}}],
        "pagination": {"hasMore": False}}})
    assert export.is_valid(), export.errors
    assert contracts.validate_query("learning.catalog_export", {"updatedSince": "2025-01-01T00:00:00Z", "limit": "50"})[
        "limit"] == 50


def test_unknown_topic():
    with pytest.raises(contracts.UnknownTopicError):
        validate_message("nope", {})
