"""The payouts API of shared/API.md: each payee sees only their own account; admins see any, and the platform's."""

import uuid
from decimal import Decimal

import pytest

from payouts.services.clearing import pending_amounts_clear
from payouts.services.settings import payout_account_set, tax_info_set
from tests.identity.factories import UserFactory, UserRoleFactory
from tests.payouts.conftest import NOW, later, post, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(instructor, creator, platform):
    post(sale(splits=[(platform, "30.00", "platform_fee"), (creator, "40.00", "creator_share"),
                      (instructor, "30.00", "instructor_share")], occurred_at=later(-40)))
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")]))
    pending_amounts_clear(now=NOW)


def login(api_client, user_id):
    from django.contrib.auth import get_user_model

    api_client.force_authenticate(get_user_model().objects.get(pk=user_id))
    return api_client


def test_balance_answers_the_payees_own_balance(api_client, sales, instructor, django_assert_max_num_queries):
    login(api_client, instructor)
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/payouts/balance/?currency=USD")
    assert response.status_code == 200
    assert response.json() | {"lastUpdatedAt": None} == {
        "availableBalance": "30.00", "pendingBalance": "7.00", "heldBalance": "0.00", "currency": "USD",
        "lastUpdatedAt": None}


def test_anonymous_callers_are_refused(api_client, db):
    assert api_client.get("/api/v1/payouts/balance/").status_code in {401, 403}


def test_the_ledger_is_paginated_and_filtered(api_client, sales, instructor, django_assert_max_num_queries):
    login(api_client, instructor)
    with django_assert_max_num_queries(4):
        page = api_client.get("/api/v1/payouts/ledger/?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert {row["payeeUserId"] for row in page["results"]} == {instructor}
    credits = api_client.get("/api/v1/payouts/ledger/?kind=sale&type=credit").json()["results"]
    assert sorted(row["amount"] for row in credits) == ["30.00", "7.00"]
    assert api_client.get("/api/v1/payouts/ledger/?type=sideways").status_code == 400


def test_another_payees_ledger_is_forbidden_and_admins_see_the_platforms(api_client, sales, instructor, creator,
                                                                         platform):
    login(api_client, instructor)
    assert api_client.get(f"/api/v1/payouts/ledger/?payee={creator}").json()["error"]["code"] == "ledger_forbidden"
    assert api_client.get("/api/v1/payouts/ledger/?payee=platform").status_code == 403
    admin = UserFactory()
    UserRoleFactory(user=admin, role="commerce-admin")
    login(api_client, str(admin.pk))
    rows = api_client.get("/api/v1/payouts/ledger/?payee=platform").json()["results"]
    assert rows and {row["payeeUserId"] for row in rows} == {platform}
    assert api_client.get(f"/api/v1/payouts/balance/?payee={creator}").json()["availableBalance"] == "40.00"


def test_a_payee_requests_a_payout_and_lists_it(api_client, sales, instructor):
    login(api_client, instructor)
    refused = api_client.post("/api/v1/payouts/", {"currency": "USD", "amount": "10.00"}, format="json")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "tax_info_missing"
    payout_account_set(payee_user_id=instructor, method="stripe_connect", stripe_account_id="acct_1TestPayee",
                       now=NOW)
    tax_info_set(payee_user_id=instructor, legal_name="Ada", country="US", tax_id="1234", form="w9", now=NOW)
    too_much = api_client.post("/api/v1/payouts/", {"currency": "USD", "amount": "30.01"}, format="json")
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "insufficient_balance"
    made = api_client.post("/api/v1/payouts/", {"currency": "USD", "amount": "10.00"}, format="json")
    assert made.status_code == 201 and made.json()["status"] == "paid"  # the built-in test transfer
    listed = api_client.get("/api/v1/payouts/").json()["results"]
    assert [row["amount"] for row in listed] == ["10.00"]
    assert api_client.get("/api/v1/payouts/balance/").json()["availableBalance"] == "20.00"


def test_the_monthly_statement_csv(api_client, sales, instructor):
    login(api_client, instructor)
    response = api_client.get(f"/api/v1/payouts/statements/{NOW:%Y-%m}.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("date,entry,kind")
    assert any(",sale," in line and ",7.00" in line for line in lines[1:])
    bad = api_client.get("/api/v1/payouts/statements/2026-13.csv")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "statement_period_invalid"


def test_personal_data_through_the_port(sales, instructor):
    from integration.ports.payouts import payouts_port

    data = payouts_port().personal_data(user_id=instructor)
    assert {b["currency"] for b in data.balances} == {"USD"}
    assert len(data.ledger) >= 3 and data.payouts == ()


def test_revenue_events_over_the_signed_webhook(client, instructor, platform):
    import json

    from integration.signing import signed_headers

    event = sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")])
    key = uuid.uuid4().hex
    body = json.dumps({"source": "lms", "idempotencyKey": key, "events": [event]}).encode()
    headers = signed_headers(body=body, idempotency_key=key, source_service="lms")
    response = client.post("/api/v1/revenue/events", body, content_type="application/json",
                           **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [{"eventId": event["eventId"], "status": "processed"}]
    assert Decimal(response.json()["processed"]) == 1
