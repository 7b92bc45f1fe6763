"""What an attacker tries from outside, beyond the bad-input tests (tests/test_bad_input.py) and the written
contracts: login ``next=`` pointing off the site, path parameters that are not ids (traversal, NUL, huge),
CSRF on the session-authenticated API, another user's objects by id, and a captured webhook sent again."""

import json
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from identity.services.tokens import token_pair_issue
from tests.identity.factories import PASSWORD, UserFactory
from tests.orders_paid import orders_paid_fixture

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not (settings.SERVES_COMMERCE and settings.SERVES_LMS), reason="the monolith")]

OFF_SITE = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example/",
            "https:evil.example", "http://testserver@evil.example/", "///evil.example", "javascript:alert(1)",
            "/\t/evil.example", " //evil.example"]


@pytest.fixture(autouse=True)
def _cheap_hashing(settings):
    settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_KIB, settings.ARGON2_PARALLELISM = 1, 1024, 1


def _stays_on_site(location: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(location.strip())
    return not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_store_login_never_sends_the_browser_off_the_site(target):
    user = UserFactory(verified=True)
    client = Client()
    response = client.post(f"/account/login/?next={target}", {"login": user.email, "password": PASSWORD,
                                                               "next": target})
    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert _stays_on_site(response["Location"]), response["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_the_store_logout_and_the_lms_handoff_never_send_the_browser_off_the_site(target):
    client = Client()
    client.force_login(UserFactory(verified=True))
    for path in ("/lms/sso/begin", "/account/sso/lms/", "/lms/sso/"):
        response = client.get(path, {"next": target, "state": "s" * 43})
        if response.status_code in (301, 302):
            assert _stays_on_site(response["Location"]), (path, response["Location"])
    response = client.post("/account/logout/", {"next": target})
    assert response.status_code == 302 and _stays_on_site(response["Location"]), response["Location"]


NOT_IDS = ["..%2F..%2Fconfig%2Fsettings.py", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00", "x" * 3000, "1e400",
           "%ED%A0%80", "NaN"]


@pytest.mark.parametrize("value", NOT_IDS)
def test_path_parameters_that_are_not_ids_are_4xx_never_a_500_or_a_file(value):
    """Receipts, certificates, statements and every API path with an id: a traversal or junk in the id
    finds nothing (they are looked up in the database, never opened as files)."""
    user = UserFactory(verified=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=user).access}")
    pages = Client()
    pages.force_login(user)
    pages.raise_request_exception = False
    api.raise_request_exception = False
    for path in ("/api/v1/orders/{}/", "/api/v1/orders/{}/refunds/", "/api/v1/checkout/{}/pay/",
                 "/api/v1/cart/items/{}/", "/api/v1/catalog/products/{}/", "/api/v1/payouts/statements/{}.csv",
                 "/api/v2/courses/{}/revenue-config/", "/api/v1/users/{}/roles"):
        response = api.get(path.format(value))
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert set(response.json()) == {"error"}, (path, response.content[:200])
    for path in ("/orders/{}/receipt/", "/orders/{}/receipt.pdf", "/certificates/{}/", "/certificates/{}/pdf/",
                 "/payouts/statements/{}.csv", "/payouts/statements/2026-01.{}", "/products/{}/"):
        response = pages.get(path.format(value))
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert b"SECRET_KEY" not in response.content and b"root:" not in response.content


def test_the_session_authenticated_api_needs_the_csrf_token():
    """A browser signed in to the store carries its session cookie to a cross-site form post: without the
    CSRF token a write is refused (DRF's SessionAuthentication), with the one error shape."""
    from tests.catalog.factories import ProductFactory

    user = UserFactory(verified=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    product = ProductFactory(suggested_price=Decimal("10.00"))
    for path, body in (("/api/v1/cart/items/", {"productId": str(product.pk)}), ("/api/v1/checkout/", {}),
                       ("/api/v1/auth/logout/", {})):
        response = client.post(path, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 403, (path, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
    from orders.models import Cart

    assert not Cart.objects.filter(user_id=user.pk, items__isnull=False).exists()


def test_another_buyers_cart_item_cannot_be_removed_by_its_id():
    from orders.models import CartItem
    from tests.catalog.factories import ProductFactory

    owner, other = UserFactory(verified=True), UserFactory(verified=True)
    product = ProductFactory(suggested_price=Decimal("10.00"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=owner).access}")
    item_id = api.post("/api/v1/cart/items/", {"productId": str(product.pk)}, format="json").json()["items"][0]["id"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=other).access}")
    response = api.delete(f"/api/v1/cart/items/{item_id}/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "cart_item_not_found"
    assert CartItem.objects.filter(pk=item_id).exists()


def test_a_payees_statement_is_their_own_whoever_asks():
    """The statement path names a period, never a payee: another payee's rows are not reachable by URL."""
    from django.utils import timezone

    from tests.test_written_contracts import _payee_with_a_sale

    payee = _payee_with_a_sale()
    stranger = UserFactory(verified=True)
    api = APIClient()
    period = timezone.now().strftime("%Y-%m")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=payee).access}")
    own = api.get(f"/api/v1/payouts/statements/{period}.csv").content.decode()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_issue(user=stranger).access}")
    theirs = api.get(f"/api/v1/payouts/statements/{period}.csv")
    assert "70.00" in own and theirs.status_code == 200 and "70.00" not in theirs.content.decode()
    for query in (f"?payee={payee.pk}", f"?userId={payee.pk}", f"?payeeUserId={payee.pk}"):
        again = api.get(f"/api/v1/payouts/statements/{period}.csv{query}")
        assert again.status_code == 403 or "70.00" not in again.content.decode(), query


def test_a_captured_webhook_sent_again_later_changes_nothing():
    """9.3: a replay of the same signed body and key (a fresh timestamp header, since the timestamp is not
    signed) is answered from the inbox; the same key with a re-signed changed body is refused."""
    from catalog.models import Product
    from integration.contracts import encode_json
    from tests.integration.conftest import signed_post

    key = str(uuid.uuid4())
    item = {"action": "upsert", "externalId": "atk-1", "type": "course", "name": "Original", "suggestedPrice": "10.00",
            "currency": "USD"}
    body = encode_json({"source": "lms", "idempotencyKey": key, "products": [item]})
    first = signed_post(Client(), "/api/v1/catalog/sync", body)
    assert first.status_code == 200
    again = signed_post(Client(), "/api/v1/catalog/sync", body)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    changed = encode_json({"source": "lms", "idempotencyKey": key, "products": [dict(item, name="Changed")]})
    refused = signed_post(Client(), "/api/v1/catalog/sync", changed)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "idempotency_key_reused"
    under_new_key = signed_post(Client(), "/api/v1/catalog/sync", body, key=str(uuid.uuid4()))
    assert under_new_key.status_code == 401
    assert under_new_key.json()["error"]["code"] == "idempotency_key_mismatch"
    assert list(Product.objects.filter(external_id="atk-1").values_list("name", flat=True)) == ["Original"]


# The statement test posts a revenue event for an order no checkout made: it counts as paid in USD.
_orders_paid = orders_paid_fixture(any_currency="USD")


@pytest.mark.parametrize("url", ["/account/password/reset/key/3-abc123secretkey/",
                                 "/account/confirm-email/MTIz:1abc123secretkey/"])
def test_the_request_log_never_holds_a_reset_or_confirmation_key(client, url):
    """The one log line per request wrote the path, and with it allauth's password-reset and email keys."""
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        client.get(url)
    (line,) = [entry for entry in logs if entry.get("event") == "request"]
    assert "abc123secretkey" not in json.dumps(logs) and "[redacted]" in line["path"], line


def test_the_request_log_keeps_ordinary_paths_as_they_are(client):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        client.get("/api/v1/catalog/products/")
    assert [entry["path"] for entry in logs if entry.get("event") == "request"] == ["/api/v1/catalog/products/"]
