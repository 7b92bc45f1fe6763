"""The payee's pages: real content, only their own account, forms that save through the services."""

import pytest
from django.contrib.auth import get_user_model

from payouts.models import PayoutAccount, PayoutSchedule, ProductName, TaxInfo
from payouts.services.clearing import pending_amounts_clear
from tests.catalog.factories import ProductFactory
from tests.payouts.conftest import NOW, later, post, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, instructor, creator, platform):
    post(sale(splits=[(platform, "30.00", "platform_fee"), (creator, "40.00", "creator_share"),
                      (instructor, "30.00", "instructor_share")], occurred_at=later(-40), product="course-a"))
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share", True)],
              product="course-b"))
    pending_amounts_clear(now=NOW)
    client.force_login(get_user_model().objects.get(pk=instructor))
    return client


def test_the_dashboard_shows_balances_dates_chart_and_courses(signed_in, django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        response = signed_in.get("/payouts/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "$30.00" in html and "$7.00" in html  # available, pending (held)
    assert "After the learner completes the course" in html
    # The held share's reason in words, as the ledger shows it (it printed the code "instructor_share").
    assert "$7.00 · instructor share · course-b" in html and "instructor_share" not in html
    assert 'id="earnings-chart" data-chart=' in html and "payouts/dashboard.js" in html
    assert "course-a" in html and "course-b" in html
    assert "Add your tax information" in html  # why nothing is paid out
    assert "<script>" not in html and " onclick=" not in html


def test_the_header_links_payees_to_their_earnings(signed_in):
    assert 'href="/payouts/"' in signed_in.get("/payouts/ledger/").content.decode()


def test_the_ledger_page_filters_and_paginates(signed_in):
    html = signed_in.get("/payouts/ledger/?kind=sale").content.decode()
    assert "course-a" in html and "Cleared" not in html.split("<tbody>")[1]
    assert signed_in.get("/payouts/ledger/?page=99").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get("/payouts/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]


def test_statements_download_as_csv_and_pdf(signed_in):
    csv = signed_in.get(f"/payouts/statements/{NOW:%Y-%m}.csv")
    assert csv.status_code == 200 and b"instructor_share" in csv.content
    pdf = signed_in.get(f"/payouts/statements/{NOW:%Y-%m}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert signed_in.get("/payouts/statements/2026-3.csv").status_code == 400
    assert signed_in.get(f"/payouts/statements/{NOW:%Y-%m}.xls").status_code == 404


def test_settings_save_account_tax_info_and_schedule(signed_in, instructor):
    page = signed_in.get("/payouts/settings/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    bad = signed_in.post("/payouts/settings/", {"section": "account", "account-method": "stripe_connect",
                                                "account-stripe_account_id": "nope"})
    assert bad.status_code == 200 and not PayoutAccount.objects.exists()
    signed_in.post("/payouts/settings/", {"section": "account", "account-method": "manual",
                                          "account-account_holder": "Ada", "account-account_number": "12345678"})
    assert PayoutAccount.objects.get(payee_user_id=instructor).bank_last4 == "5678"
    wrong_form = signed_in.post("/payouts/settings/", {"section": "tax", "tax-legal_name": "Ada", "tax-country": "US",
                                                       "tax-tax_id": "123-45-6789", "tax-form": "w8ben",
                                                       "tax-certify": "on"})
    assert "US persons file a W-9" in wrong_form.content.decode()
    signed_in.post("/payouts/settings/", {"section": "tax", "tax-legal_name": "Ada", "tax-country": "US",
                                          "tax-tax_id": "123-45-6789", "tax-form": "w9", "tax-certify": "on"})
    assert TaxInfo.objects.get(payee_user_id=instructor).tax_id_last4 == "6789"
    signed_in.post("/payouts/settings/", {"section": "schedule", "schedule-frequency": "weekly", "schedule-day": "4",
                                          "schedule-minimum_amount": "25"})
    assert PayoutSchedule.objects.get(payee_user_id=instructor).day == 4
    assert "Add your tax information" not in signed_in.get("/payouts/").content.decode()


def test_the_payouts_page_polls_while_a_payout_is_in_flight(signed_in, instructor):
    from payouts.models import Payout

    Payout.objects.create(payee_user_id=instructor, currency="USD", amount=5, status="processing",
                          method="stripe_connect", created_at=NOW)
    html = signed_in.get("/payouts/history/").content.decode()
    assert 'hx-trigger="every 5s"' in html


def _sell_courses(count, *, instructor, platform, start=0):
    for n in range(start, start + count):
        ProductFactory(external_id=f"lms-course-{n}", name=f"Course called {n}")
        post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")],
                  product=f"lms-course-{n}"))


def test_by_course_and_the_ledger_show_course_names_in_bounded_queries(client, instructor, platform,
                                                                         django_assert_max_num_queries):
    _sell_courses(2, instructor=instructor, platform=platform)
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")],
              product="never-in-the-catalog"))
    client.force_login(get_user_model().objects.get(pk=instructor))
    client.get("/payouts/")  # once before counting: what a first visit does once (session, caches) is not counted
    with django_assert_max_num_queries(25) as few:
        html = client.get("/payouts/").content.decode()
    by_course = html[html.index("<h2>By course</h2>"):html.index("<h2>Recent payouts</h2>")]
    assert "Course called 0" in by_course and "Course called 1" in by_course
    assert "lms-course-0" not in by_course
    assert "never-in-the-catalog" in by_course  # a product the catalog does not know keeps its id
    _sell_courses(20, instructor=instructor, platform=platform, start=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get("/payouts/").content.decode()
    assert "Course called 21" in html
    with django_assert_max_num_queries(12):
        ledger = client.get("/payouts/ledger/").content.decode()
    assert "Course called 21" in ledger and "lms-course-21" not in ledger
    found = client.get("/payouts/ledger/?q=called 7").content.decode()
    assert "Course called 7" in found and "Course called 8" not in found


def test_a_product_name_is_asked_once_per_product_and_kept(instructor, platform, django_assert_max_num_queries):
    ProductFactory(external_id="lms-course-x", name="Old name")
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")],
              product="lms-course-x"))
    assert ProductName.objects.get(pk="lms-course-x").name == "Old name"
    with django_assert_max_num_queries(40) as first:
        post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")],
                  product="lms-course-x"))
    # The second sale asked nothing of the catalog (the name was asked moments ago).
    assert not any("catalog_product" in query["sql"] for query in first.captured_queries)


def _payout(payee, *, n, status="paid", transfer_id=""):
    from payouts.models import Payout

    return Payout.objects.create(payee_user_id=payee, currency="USD", amount=10 + n, status=status,
                                 method="stripe_connect", destination="acct_1Payee", transfer_id=transfer_id,
                                 created_at=later(-n))


def test_the_payouts_list_searches_filters_paginates_and_says_when_nothing_matches(signed_in, instructor, creator):
    for n in range(30):
        _payout(instructor, n=n, transfer_id=f"tr_{n:03d}")
    _payout(instructor, n=40, status="failed", transfer_id="tr_failed")
    _payout(creator, n=1, transfer_id="tr_someone_else")
    html = signed_in.get("/payouts/history/").content.decode()
    assert "Page 1 of 2" in html and 'name="q"' in html and ">All<" in html and "---------" not in html
    second = signed_in.get("/payouts/history/?status=paid&page=2").content.decode()
    assert "Page 2 of 2" in second and "tr_failed" not in second
    assert "status=paid&amp;page=1" in second  # the filters stay on the page links
    found = signed_in.get("/payouts/history/?q=tr_007").content.decode()
    assert "tr_007" in found and "tr_008" not in found
    assert "tr_someone_else" not in signed_in.get("/payouts/history/?q=someone").content.decode()
    none = signed_in.get("/payouts/history/?q=nothing-like-this").content.decode()
    assert "No payout matches these filters" in none and "No payouts yet" not in none
    assert signed_in.get("/payouts/history/?since=not-a-date").status_code == 200


def test_the_ledger_says_when_no_entry_matches(signed_in):
    html = signed_in.get("/payouts/ledger/?q=nothing-like-this").content.decode()
    assert "No entry matches these filters" in html and "---------" not in html
    assert "instructor share" in signed_in.get("/payouts/ledger/").content.decode()


def test_the_settings_forms_refuse_a_post_without_the_csrf_token_and_ask_for_a_country(instructor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(pk=instructor))
    schedule = {"section": "schedule", "schedule-frequency": "weekly", "schedule-day": "4",
                "schedule-minimum_amount": "25"}
    assert client.post("/payouts/settings/", schedule).status_code == 403
    page = client.get("/payouts/settings/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert page.count("csrfmiddlewaretoken") >= 3  # each of the three forms (and the header's sign-out)
    assert '<option value="" selected>Choose your country</option>' in page
    saved = client.post("/payouts/settings/", {**schedule, "csrfmiddlewaretoken": token})
    assert saved.status_code == 302 and PayoutSchedule.objects.get(payee_user_id=instructor).day == 4
    no_country = client.post("/payouts/settings/", {"section": "tax", "tax-legal_name": "Ada", "tax-country": "",
                                                    "tax-tax_id": "1", "tax-form": "w9", "tax-certify": "on",
                                                    "csrfmiddlewaretoken": token})
    assert no_country.status_code == 200 and not TaxInfo.objects.filter(payee_user_id=instructor).exists()


def test_a_payee_without_any_sale_sees_empty_states(client, db):
    from tests.identity.factories import UserFactory

    client.force_login(UserFactory(email="new-payee@example.com"))
    for url, text in (("/payouts/", "No sales yet"), ("/payouts/ledger/", "No entries yet"),
                      ("/payouts/history/", "No payouts yet"), ("/payouts/statements/", "first statement")):
        response = client.get(url)
        assert response.status_code == 200 and text in response.content.decode(), url


def test_the_statement_pdf_names_courses_and_rounds_amounts_to_the_currency(instructor, platform):
    from payouts.statements import statement_html

    ProductFactory(external_id="lms-course-pdf", name="Printed course")
    post(sale(splits=[(platform, "3", "platform_fee"), (instructor, "1234", "instructor_share")], currency="JPY",
              product="lms-course-pdf"))
    html = statement_html(payee_user_id=instructor, payee_email="teacher@example.com", year=NOW.year, month=NOW.month)
    assert "Printed course" in html and "lms-course-pdf" not in html
    assert "¥1,234" in html and "1234.0000" not in html
    assert "Payee: pending (clearing)" in html and "instructor share" in html
