"""Section 9.3, rule by rule, through the catalog sync receiver."""

import hashlib
import hmac
import json
import time

import pytest
from django.test import RequestFactory
from freezegun import freeze_time

from integration import signing
from integration.models import InboxEntry
from tests.conftest import TEST_WEBHOOK_SECRETS
from tests.integration.conftest import signed_post
from tests.integration.factories import catalog_sync_payload

PATH = "/api/v1/catalog/sync"
pytestmark = pytest.mark.django_db


@pytest.fixture
def body() -> bytes:
    return json.dumps(catalog_sync_payload()).encode()


def _nothing_changed(handler) -> None:
    assert handler.calls == []
    assert not InboxEntry.objects.exists()


def test_signature_is_hmac_sha256_of_the_raw_body_as_the_spec_writes_it():
    body = b'{"a":1}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signing.sign_body(body, secret="s3cret", timestamp=1) == f"sha256={expected}"


def test_signed_headers_carry_all_four_and_sign_with_the_first_secret():
    headers = signing.signed_headers(b"{}", idempotency_key="k", source_service="lms")
    assert headers["X-Webhook-Signature"] == signing.sign_body(b"{}", secret=TEST_WEBHOOK_SECRETS[0])
    assert abs(int(headers["X-Webhook-Timestamp"]) - time.time()) < 5
    assert headers["X-Idempotency-Key"] == "k"
    assert headers["X-Source-Service"] == "lms"


def test_good_signature_is_accepted(client, body, catalog_handler):
    response = signed_post(client, PATH, body)
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True
    assert len(catalog_handler.calls) == 1
    assert catalog_handler.calls[0][1].transport == "http"
    assert catalog_handler.calls[0][1].source_service == "lms"


@pytest.mark.parametrize(("header", "code"), [
    ("X-Webhook-Signature", "missing_signature"),
    ("X-Webhook-Timestamp", "missing_timestamp"),
    ("X-Idempotency-Key", "missing_idempotency_key"),
    ("X-Source-Service", "invalid_source_service"),
])
def test_each_missing_header_is_401(client, body, catalog_handler, header, code):
    response = signed_post(client, PATH, body, drop=(header,))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    _nothing_changed(catalog_handler)


def test_wrong_signature_is_401(client, body, catalog_handler):
    wrong = signing.sign_body(body, secret="not-our-secret")
    response = signed_post(client, PATH, body, override={"X-Webhook-Signature": wrong})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    _nothing_changed(catalog_handler)


@pytest.mark.parametrize("value", ["deadbeef", "md5=" + "0" * 64, "sha256=" + "z" * 64])
def test_malformed_signature_is_401(client, body, catalog_handler, value):
    response = signed_post(client, PATH, body, override={"X-Webhook-Signature": value})
    assert response.json()["error"]["code"] == "invalid_signature"
    _nothing_changed(catalog_handler)


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86400])
def test_timestamp_more_than_five_minutes_off_either_way_is_401(client, body, catalog_handler, offset):
    with freeze_time():  # the boundary is exact only if the clock does not tick between stamp and check
        stamp = str(int(time.time()) + offset)
        response = signed_post(client, PATH, body, override={"X-Webhook-Timestamp": stamp})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    _nothing_changed(catalog_handler)


@pytest.mark.parametrize("offset", [-290, 290])
def test_timestamp_inside_the_window_is_accepted(client, body, catalog_handler, offset):
    with freeze_time():
        stamp = str(int(time.time()) + offset)
        assert signed_post(client, PATH, body, override={"X-Webhook-Timestamp": stamp}).status_code == 200


def test_non_numeric_timestamp_is_401(client, body, catalog_handler):
    response = signed_post(client, PATH, body, override={"X-Webhook-Timestamp": "yesterday"})
    assert response.json()["error"]["code"] == "invalid_timestamp"
    _nothing_changed(catalog_handler)


def test_tampered_body_is_401(client, body, catalog_handler):
    headers = signing.signed_headers(body, idempotency_key="k1", source_service="lms")
    tampered = body.replace(b"199.00", b"1.00")
    assert tampered != body
    response = client.post(PATH, data=tampered, content_type="application/json",
                           **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    _nothing_changed(catalog_handler)


def test_rotated_second_secret_still_verifies(client, body, catalog_handler):
    old = signing.sign_body(body, secret=TEST_WEBHOOK_SECRETS[1])
    response = signed_post(client, PATH, body, override={"X-Webhook-Signature": old})
    assert response.status_code == 200, response.content


def test_a_removed_secret_no_longer_verifies(client, body, catalog_handler, settings):
    old = signing.sign_body(body, secret=TEST_WEBHOOK_SECRETS[1])
    settings.WEBHOOK_SECRETS = TEST_WEBHOOK_SECRETS[:1]
    response = signed_post(client, PATH, body, override={"X-Webhook-Signature": old})
    assert response.json()["error"]["code"] == "invalid_signature"


def test_source_service_must_be_the_sending_side(client, body, catalog_handler):
    response = signed_post(client, PATH, body, source="commerce")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_source_service"
    response = signed_post(client, PATH, body, override={"X-Source-Service": "billing"})
    assert response.json()["error"]["code"] == "invalid_source_service"
    _nothing_changed(catalog_handler)


def test_idempotency_key_with_unsafe_characters_is_401(client, body, catalog_handler):
    response = signed_post(client, PATH, body, key="a key with spaces")
    assert response.json()["error"]["code"] == "missing_idempotency_key"


def test_body_over_one_megabyte_is_413_before_it_is_read(client, catalog_handler, settings):
    payload = catalog_sync_payload()
    payload["products"][0]["description"] = "x" * settings.WEBHOOK_MAX_BODY_BYTES
    body = json.dumps(payload).encode()
    response = signed_post(client, PATH, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    _nothing_changed(catalog_handler)


def test_declared_length_over_the_limit_is_refused_without_reading(settings):
    request = RequestFactory().post(PATH, data=b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(settings.WEBHOOK_MAX_BODY_BYTES + 1)
    with pytest.raises(signing.PayloadTooLargeError):
        signing.verify_request(request)
    assert not request._read_started


def test_actual_length_is_checked_too(settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 10
    body = b'{"long": "enough to pass ten bytes"}'
    request = RequestFactory().post(PATH, data=body, content_type="application/json",
                                    **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signing.signed_headers(
                                        body, idempotency_key="k", source_service="lms").items()})
    request.META["CONTENT_LENGTH"] = "5"
    request._body = body
    with pytest.raises(signing.PayloadTooLargeError):
        signing.verify_request(request)
