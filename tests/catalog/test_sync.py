"""Spec 6.1.2: the catalog sync receiver, per product, through the contract and the inbox."""

import json
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import Product
from catalog.services.products import product_price_override
from integration.contracts import InvalidPayloadError
from integration.contracts.catalog import CatalogSyncProductSerializer, _plainly_valid
from integration.receiving import message_receive
from integration.registry import Delivery
from integration.topics import Topic
from tests.catalog.factories import ProductFactory, sync_item, sync_payload
from tests.integration.conftest import signed_post

pytestmark = pytest.mark.django_db


def receive(payload: dict) -> dict:
    delivery = Delivery(idempotency_key=payload["idempotencyKey"], source_service="lms")
    return message_receive(topic=Topic.CATALOG_SYNC, payload=json.loads(json.dumps(payload)),
                           delivery=delivery).body


def test_a_new_product_is_created_with_the_suggested_price_as_its_price():
    answer = receive(sync_payload(sync_item("course-1", suggestedPrice="199.00",
                                            metadata={"departmentId": "d-7", "durationWeeks": 4})))
    product = Product.objects.get(external_id="course-1")
    assert answer == {"success": True, "processed": 1, "results": [
        {"externalId": "course-1", "productId": str(product.pk), "status": "created"}]}
    assert (product.price, product.suggested_price, product.currency) == (Decimal("199.00"),) * 2 + ("USD",)
    assert product.external_source == "lms" and product.status == "active" and product.type == "course"
    assert product.department_id == "d-7" and product.metadata["durationWeeks"] == 4


def test_an_existing_product_is_updated_and_an_archive_archives_it():
    product = ProductFactory(external_id="course-1", name="Old name")
    answer = receive(sync_payload(sync_item("course-1", name="New name", suggestedPrice="150.00"),
                                  sync_item("course-2"), sync_item("course-2", action="archive")))
    statuses = [(r["externalId"], r["status"]) for r in answer["results"]]
    assert statuses == [("course-1", "updated"), ("course-2", "created"), ("course-2", "archived")]
    product.refresh_from_db()
    assert product.name == "New name" and product.price == Decimal("150.00")
    assert Product.objects.get(external_id="course-2").status == "archived"
    assert answer["results"][1]["productId"] == answer["results"][2]["productId"]


def test_an_item_without_a_name_or_with_a_negative_price_fails_alone_and_nothing_of_it_is_written():
    existing = ProductFactory(external_id="course-3", name="Kept", suggested_price=Decimal("10.00"))
    nameless = sync_item("course-1")
    del nameless["name"]
    answer = receive(sync_payload(nameless, sync_item("course-2", suggestedPrice="-1.00"),
                                  sync_item("course-3", name="   "), sync_item("course-4")))
    results = {r["externalId"]: r for r in answer["results"]}
    assert answer["success"] is False and answer["processed"] == 1
    assert results["course-1"]["status"] == "failed" and "name" in results["course-1"]["error"]
    assert results["course-1"]["productId"] == ""
    assert results["course-2"]["status"] == "failed" and "suggestedPrice" in results["course-2"]["error"]
    assert results["course-3"] == {"externalId": "course-3", "productId": str(existing.pk), "status": "failed",
                                   "error": results["course-3"]["error"]}
    assert results["course-4"]["status"] == "created"
    assert set(Product.objects.values_list("external_id", flat=True)) == {"course-3", "course-4"}
    existing.refresh_from_db()
    assert existing.name == "Kept"


@pytest.mark.parametrize("field, value, reason", [
    ("currency", "XXY", "currency"), ("suggestedPrice", "19.999", "decimal places"),
])
def test_an_unknown_currency_or_too_many_decimals_fail_that_item_alone(field, value, reason):
    answer = receive(sync_payload(sync_item("course-1", **{field: value}), sync_item("course-2")))
    assert answer["results"][0]["status"] == "failed" and reason in answer["results"][0]["error"]
    assert answer["results"][1]["status"] == "created"


@pytest.mark.parametrize("field, value", [("type", "webinar"), ("currency", "dollars"), ("suggestedPrice", "abc"),
                                          ("action", "delete"), ("suggestedPrice", True)])
def test_a_malformed_item_is_a_senders_bug_and_refuses_the_whole_message(field, value):
    with pytest.raises(InvalidPayloadError) as caught:
        receive(sync_payload(sync_item("course-1", **{field: value}), sync_item("course-2")))
    assert field in caught.value.details["products"]["0"]
    assert not Product.objects.exists()


def test_jpy_and_kwd_prices_keep_their_minor_units():
    receive(sync_payload(sync_item("jp", suggestedPrice="1200", currency="JPY"),
                         sync_item("kw", suggestedPrice="3.250", currency="KWD"),
                         sync_item("jp-bad", suggestedPrice="1200.5", currency="JPY")))
    assert Product.objects.get(external_id="jp").price == Decimal("1200")
    assert Product.objects.get(external_id="kw").price == Decimal("3.250")
    assert not Product.objects.filter(external_id="jp-bad").exists()


def test_a_sync_never_overwrites_commerces_price():
    product = ProductFactory(external_id="course-1", suggested_price=Decimal("100.00"))
    product_price_override(product_id=product.pk, price=Decimal("79.00"), actor="admin", now=timezone.now())
    receive(sync_payload(sync_item("course-1", suggestedPrice="120.00", name="Renamed")))
    product.refresh_from_db()
    assert (product.price, product.price_override, product.suggested_price) == (
        Decimal("79.00"), Decimal("79.00"), Decimal("120.00"))
    assert product.name == "Renamed"


def test_a_currency_change_under_an_override_fails_that_item_and_keeps_the_price():
    product = ProductFactory(external_id="course-1")
    product_price_override(product_id=product.pk, price=Decimal("79.00"), actor="admin", now=timezone.now())
    answer = receive(sync_payload(sync_item("course-1", currency="EUR")))
    assert answer["results"][0]["status"] == "failed" and "override" in answer["results"][0]["error"]
    product.refresh_from_db()
    assert (product.currency, product.price) == ("USD", Decimal("79.00"))


def test_the_same_message_twice_is_answered_once_and_changes_nothing_more():
    payload = sync_payload(sync_item("course-1"))
    first = receive(payload)
    Product.objects.update(name="Edited since")
    assert receive(payload) == first
    assert Product.objects.get().name == "Edited since", "the inbox answered the repeat without running it"


def test_a_batch_of_500_takes_a_bounded_number_of_queries(django_assert_max_num_queries):
    for index in range(250):
        ProductFactory(external_id=f"course-{index}")
    payload = sync_payload(*[sync_item(f"course-{index}", name=f"Course {index} v2") for index in range(500)])
    # One read, one INSERT and one UPDATE (SQLite splits each into a few by its bound-variable limit),
    # plus the inbox's claim and answer: never a query per product.
    with django_assert_max_num_queries(20):
        answer = receive(payload)
    assert answer["processed"] == 500
    assert Product.objects.count() == 500
    assert Product.objects.filter(name__endswith="v2").count() == 500


def test_the_signed_webhook_answers_per_item(client):
    nameless = sync_item("course-1")
    del nameless["name"]
    body = json.dumps(sync_payload(nameless, sync_item("course-2"), key="sync-http-1")).encode()
    response = signed_post(client, "/api/v1/catalog/sync", body, key="sync-http-1")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["failed", "created"]


def test_a_message_without_products_or_an_item_without_an_external_id_is_refused_whole(client):
    body = json.dumps({"source": "lms", "idempotencyKey": "sync-http-2", "products": [{"name": "x"}]}).encode()
    response = signed_post(client, "/api/v1/catalog/sync", body, key="sync-http-2")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_payload"
    assert not Product.objects.exists()


TEXTS = st.one_of(st.text(max_size=8), st.sampled_from(["", " x", "x ", "a\x00b", "Course", "x" * 256]))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-5, max_value=10**16), TEXTS,
                   st.decimals(allow_nan=True, places=None), st.sampled_from(["199.00", "1e3", "-1", "0.00001"]))


@st.composite
def raw_items(draw):
    item = {"action": draw(st.one_of(st.sampled_from(["upsert", "archive"]), VALUES)),
            "externalId": draw(st.one_of(st.sampled_from(["c-1", "c 2"]), VALUES)),
            "type": draw(st.one_of(st.sampled_from(["course", "program", "class"]), VALUES)),
            "name": draw(st.one_of(st.just("Intro"), VALUES)),
            "suggestedPrice": draw(st.one_of(st.sampled_from(["199.00", "0", 12, Decimal("3.250")]), VALUES)),
            "currency": draw(st.one_of(st.sampled_from(["USD", "JPY", "usd"]), VALUES))}
    if draw(st.booleans()):
        item["description"] = draw(st.one_of(st.just("About it"), VALUES))
    if draw(st.booleans()):
        item["metadata"] = draw(st.one_of(st.none(), st.dictionaries(
            st.sampled_from(["departmentId", "programId", "durationWeeks", "thumbnailUrl", "level"]),
            st.one_of(st.sampled_from(["d-1", 6, "http://x/t.png"]), VALUES), max_size=5)))
    return item


@settings(max_examples=600, deadline=None)
@given(raw_items())
def test_the_fast_path_answers_exactly_what_the_strict_serializer_answers(item):
    """The contract skips DRF's per-field machinery for plain products; for those it must agree with it."""
    fast = _plainly_valid(item)
    if fast is None:
        return
    strict = CatalogSyncProductSerializer(data=item)
    assert strict.is_valid(), (item, strict.errors)
    expected = json.loads(json.dumps(dict(strict.validated_data), default=str))
    assert json.loads(json.dumps(fast, default=str)) == expected
    assert type(fast["suggestedPrice"]) is Decimal and fast["suggestedPrice"] == strict.validated_data["suggestedPrice"]


def test_a_plain_product_takes_the_fast_path_and_a_negative_price_does_not():
    assert _plainly_valid(sync_item("c-1"))["suggestedPrice"] == Decimal("199.00")
    assert _plainly_valid(sync_item("c-1", suggestedPrice="-1.00")) is None
    assert _plainly_valid(sync_item("c-1", name=" padded ")) is None
