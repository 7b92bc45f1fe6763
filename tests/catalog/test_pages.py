"""The storefront's catalog (home) and product pages."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product
from tests.catalog.factories import ProductFactory, bundle_of

pytestmark = pytest.mark.django_db


def _bulk_products(count: int) -> None:
    now = timezone.now()
    Product.objects.bulk_create([
        Product(id=uuid.uuid4(), external_id=f"bulk-{i}", external_source="lms", type="course" if i % 3 else "program",
                name=f"Bulk course {i}", description="Something to learn", suggested_price=Decimal("10.00"),
                price=Decimal("10.00"), currency="USD", metadata={"departmentId": f"d{i % 5}",
                                                                  "departmentName": f"Department {i % 5}"},
                department_id=f"d{i % 5}", created_at=now - timedelta(seconds=i), updated_at=now)
        for i in range(count)])


def test_the_home_page_is_the_catalog_and_its_query_count_is_bounded_at_1000_products(
        client, django_assert_max_num_queries):
    _bulk_products(1000)
    with django_assert_max_num_queries(8):
        response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "1000 results" in html and html.count('data-testid="product-card"') == 24
    assert "Bulk course 0" in html and "Page 1 of 42" in html
    assert "Department 3" in html, "the department filter names departments"
    with django_assert_max_num_queries(8):
        last = client.get("/", {"page": 42, "q": "bulk", "type": "course"})
    assert last.status_code == 200 and "Page" in last.content.decode()


def test_search_and_filters_narrow_the_list_and_keep_the_query_in_pagination(client):
    ProductFactory(name="Intro to Accounting")
    ProductFactory(name="Tax law", type="program", metadata={"departmentId": "law", "departmentName": "Law"})
    html = client.get("/", {"q": "accounting"}).content.decode()
    assert "Intro to Accounting" in html and "Tax law" not in html and "1 result " in html
    html = client.get("/", {"departmentId": "law"}).content.decode()
    assert "Tax law" in html and "Intro to Accounting" not in html
    html = client.get("/", {"q": "nothing like it"}).content.decode()
    assert "No course or program matches your search" in html
    _bulk_products(30)
    html = client.get("/", {"q": "bulk"}).content.decode()
    assert "?q=bulk&amp;page=2" in html


def test_an_htmx_search_gets_only_the_results(client):
    ProductFactory(name="Intro to Accounting")
    response = client.get("/", {"q": "intro"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="results"') and "Intro to Accounting" in html
    assert "<html" not in html


def test_the_page_has_no_inline_script(client):
    ProductFactory()
    html = client.get("/").content.decode()
    assert "<script>" not in html and " onclick=" not in html and " onchange=" not in html


def test_the_product_page_shows_the_price_and_an_add_to_cart_form(client):
    product = ProductFactory(name="Intro to Accounting", suggested_price=Decimal("199.00"),
                             metadata={"durationWeeks": 6, "instructorName": "Ada", "departmentName": "Finance"})
    html = client.get(f"/products/{product.pk}/").content.decode()
    assert "Intro to Accounting" in html and "$199.00" in html and "6 weeks" in html and "Ada" in html
    assert 'action="/cart/items/"' in html and f'name="product_id" value="{product.pk}"' in html
    assert "csrfmiddlewaretoken" in html


def test_a_jpy_product_shows_no_minor_unit(client):
    product = ProductFactory(suggested_price=Decimal("1200"), currency="JPY")
    assert "¥1,200" in client.get(f"/products/{product.pk}/").content.decode()


def test_an_archived_product_says_so_and_cannot_be_added(client):
    product = ProductFactory(status="archived")
    html = client.get(f"/products/{product.pk}/").content.decode()
    assert "no longer for sale" in html and "/cart/items/" not in html


def test_a_bundle_page_lists_its_items_and_their_parts(client):
    a = ProductFactory(name="Part one", suggested_price=Decimal("100.00"))
    b = ProductFactory(name="Part two", suggested_price=Decimal("300.00"))
    bundle = bundle_of(a, b, price=Decimal("320.00"), name="Both parts")
    html = client.get(f"/products/{bundle.pk}/").content.decode()
    assert "Part one" in html and "$80.00" in html and "$240.00" in html and "$400.00" in html


@pytest.mark.parametrize("product_id", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_product_is_a_404_page(client, product_id):
    assert client.get(f"/products/{product_id}/").status_code == 404
