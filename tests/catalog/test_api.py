"""The storefront's product API (public, filtered, cursor-paginated) and Commerce's price by API."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import PriceChange
from tests.catalog.factories import ProductFactory, bundle_of

pytestmark = pytest.mark.django_db
LIST = "/api/v1/catalog/products/"


def _products(count: int, **kwargs):
    start = timezone.now() - timedelta(hours=1)
    return [ProductFactory(created_at=start + timedelta(seconds=index), **kwargs) for index in range(count)]


def test_the_list_is_public_newest_first_and_in_the_api_shape(api_client):
    older, newer = _products(2)
    ProductFactory(status="archived")
    body = api_client.get(LIST).json()
    assert set(body) == {"results", "next", "previous"}
    assert [p["id"] for p in body["results"]] == [str(newer.pk), str(older.pk)]
    first = body["results"][0]
    assert first["externalId"] == newer.external_id and first["externalSource"] == "lms"
    assert (first["price"], first["suggestedPrice"], first["currency"]) == ("100.00", "100.00", "USD")
    assert first["priceOverridden"] is False and first["status"] == "active" and first["departmentId"] == "dept-1"
    assert {"type", "name", "description", "metadata", "bundleItems", "createdAt", "updatedAt"} <= set(first)


def test_filters_type_q_and_department(api_client):
    ProductFactory(name="Intro to Accounting", type="course")
    ProductFactory(name="Tax law", type="program", metadata={"departmentId": "law"})
    ProductFactory(name="Other", description="All about accounting rules")

    def names(**params):
        return sorted(p["name"] for p in api_client.get(LIST, params).json()["results"])

    assert names(q="accounting") == ["Intro to Accounting", "Other"]
    assert names(type="program") == ["Tax law"]
    assert names(departmentId="law") == ["Tax law"]
    response = api_client.get(LIST, {"type": "webinar"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_cursor_pagination_with_limit(api_client, django_assert_max_num_queries):
    products = _products(25)
    with django_assert_max_num_queries(3):
        page = api_client.get(LIST, {"limit": 10}).json()
    assert len(page["results"]) == 10 and page["previous"] is None and page["next"]
    second = api_client.get(page["next"]).json()
    seen = [p["id"] for p in page["results"] + second["results"]]
    assert seen == [str(p.pk) for p in reversed(products)][:20]
    assert len(api_client.get(LIST, {"limit": 1000}).json()["results"]) == 25  # capped at 100
    assert len(api_client.get(LIST).json()["results"]) == 20


def test_detail_with_bundle_items_and_allocated_prices(api_client):
    a, b = ProductFactory(suggested_price=Decimal("100.00")), ProductFactory(suggested_price=Decimal("300.00"))
    bundle = bundle_of(a, b, price=Decimal("320.00"))
    body = api_client.get(f"{LIST}{bundle.pk}/").json()
    assert body["type"] == "bundle" and body["price"] == "320.00"
    assert [(i["productId"], i["price"], i["allocatedPrice"]) for i in body["bundleItems"]] == [
        (str(a.pk), "100.00", "80.00"), (str(b.pk), "300.00", "240.00")]


def test_an_unknown_product_is_a_404_in_the_error_shape(api_client):
    for product_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = api_client.get(f"{LIST}{product_id}/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "product_not_found"


def test_a_commerce_admin_sets_and_removes_the_price(api_client, commerce_admin):
    product = ProductFactory(suggested_price=Decimal("100.00"))
    api_client.force_authenticate(commerce_admin)
    response = api_client.put(f"{LIST}{product.pk}/price/", {"price": "79.50", "reason": "launch offer"},
                              format="json")
    assert response.status_code == 200
    assert (response.json()["price"], response.json()["priceOverridden"]) == ("79.50", True)
    change = PriceChange.objects.get()
    assert (change.old_price, change.new_price, change.actor) == (Decimal("100.00"), Decimal("79.50"),
                                                                  str(commerce_admin.pk))
    response = api_client.put(f"{LIST}{product.pk}/price/", {"price": None}, format="json")
    assert (response.json()["price"], response.json()["priceOverridden"]) == ("100.00", False)


# A JSON number is money too (shared/API.md: "199.00" or 199.00); 10.555 has more than USD's minor digits.
@pytest.mark.parametrize("body", [{"price": "-1"}, {"price": 10.555}, {"price": "abc"}, {"price": "10.001"}, {}])
def test_a_bad_price_is_refused_and_nothing_changes(api_client, commerce_admin, body):
    product = ProductFactory()
    api_client.force_authenticate(commerce_admin)
    response = api_client.put(f"{LIST}{product.pk}/price/", body, format="json")
    assert response.status_code == 400 and "error" in response.json()
    product.refresh_from_db()
    assert product.price_override is None and not PriceChange.objects.exists()


def test_only_a_commerce_admin_may_set_a_price(api_client, user):
    product = ProductFactory()
    response = api_client.put(f"{LIST}{product.pk}/price/", {"price": "1.00"}, format="json")
    assert response.status_code in (401, 403)
    api_client.force_authenticate(user)
    response = api_client.put(f"{LIST}{product.pk}/price/", {"price": "1.00"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "price_override_forbidden"
    product.refresh_from_db()
    assert product.price_override is None
