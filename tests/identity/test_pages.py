"""Account pages in the site's layout, the pages' sign-in throttle, and the SSO start into the LMS."""

import re

import pytest
from django.test import Client

from identity.models import TokenFamily
from identity.selectors import token_validate
from tests.identity.factories import PASSWORD, UserFactory

STATE = "s" * 43
SSO_START = f"/account/sso/lms/?state={STATE}"

pytestmark = pytest.mark.django_db

ALLAUTH_PAGES = ["/account/login/", "/account/signup/", "/account/password/reset/"]
SIGNED_IN_PAGES = ["/account/", "/account/email/", "/account/password/change/", "/account/2fa/",
                   "/account/data/", "/account/delete/"]


@pytest.mark.parametrize("path", ALLAUTH_PAGES)
def test_allauth_pages_use_the_sites_layout(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="site-header"' in html and 'name="viewport"' in html and "identity/account.css" in html
    assert "csrfmiddlewaretoken" in html


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_account_pages_for_a_signed_in_user(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, path
    assert b'class="site-header"' in response.content


def test_signing_up_and_in_on_the_pages(client):
    response = client.post("/account/signup/", {"email": "page@example.com", "password1": "page-pass-phrase-1",
                                                "password2": "page-pass-phrase-1"})
    assert response.status_code == 302 and response["Location"] == "/account/confirm-email/"
    response = client.post("/account/login/", {"login": "page@example.com", "password": "page-pass-phrase-1"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_after_signing_up_the_pages_say_what_to_do_in_plain_words(client, mailoutbox):
    response = client.post("/account/signup/", {"email": "plain@example.com", "password1": "page-pass-phrase-1",
                                                "password2": "page-pass-phrase-1"}, follow=True)
    html = response.content.decode()
    # allauth's own words were "Verify Your Email Address" and "finalize the signup process".
    assert "Check your email" in html and "open it, then log in" in html and 'href="/account/login/"' in html
    assert "Verify Your Email Address" not in html and "finalize" not in html
    (link,) = re.findall(r"http://\S+/account/confirm-email/\S+/", mailoutbox[-1].body)
    confirm = client.get(link[link.index("/account/"):]).content.decode()
    assert "Confirm that <strong>plain@example.com</strong> is your email address." in confirm
    assert "for user" not in confirm and 'name="csrfmiddlewaretoken"' in confirm
    expired = client.get("/account/confirm-email/not-a-key/").content.decode()
    assert "expired or was already used" in expired


def test_the_login_page_is_throttled_with_a_clear_message(client, user, settings):
    settings.IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(3):
        response = client.post("/account/login/", {"login": user.email, "password": "wrong"})
        assert response.status_code == 200
    locked = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert locked.status_code == 200 and "_auth_user_id" not in client.session
    assert b"Too many failed sign-in attempts. Try again in 30 seconds." in locked.content


def test_the_login_page_says_the_same_for_unknown_email_and_wrong_password(client, user):
    def errors(email):
        html = client.post("/account/login/", {"login": email, "password": "wrong-pass"}).content.decode()
        return re.findall(r'<ul class="errorlist[^"]*">(.*?)</ul>', html, re.S)

    assert errors(user.email) == errors("nobody@example.com") != []


def test_the_sso_start_posts_the_token_and_never_puts_it_in_a_url(client, user):
    client.force_login(user)
    response = client.get(SSO_START)

    assert response.status_code == 200
    html = response.content.decode()
    form = re.search(r'<form id="lms-sso-form" method="post" action="([^"]+)">', html)
    assert form and form.group(1) == "/lms/sso/callback"
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    assert token_validate(token=token)["user"]["id"] == str(user.id)
    for url in re.findall(r'(?:href|action|src)="([^"]*)"', html):
        assert token not in url
    assert token not in response.get("Location", "")
    assert ">Continue</button>" in html and 'src="/static/identity/sso_start.js"' in html
    assert "<script>" not in html  # the auto-submit is a static file (Content-Security-Policy)
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_the_sso_start_in_a_split_deployment_posts_to_the_lms_base_url(client, user, settings):
    settings.SERVES_LMS = False
    settings.LMS_BASE_URL = "https://lms.example.com/"
    client.force_login(user)
    html = client.get(SSO_START).content.decode()
    assert 'action="https://lms.example.com/lms/sso/callback"' in html
    assert "csrfmiddlewaretoken" not in html.split('id="lms-sso-form"')[1].split("</form>")[0]


def test_the_sso_start_needs_a_signed_in_user(client):
    response = client.get("/account/sso/lms/")
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")


def test_the_my_courses_link_starts_at_the_lms_which_binds_the_handoff_to_this_browser(client, user):
    client.force_login(user)
    assert b'href="/lms/sso/begin"' in client.get("/").content


def test_the_sso_start_without_the_lms_state_sends_the_browser_to_begin_at_the_lms(client, user):
    client.force_login(user)
    response = client.get("/account/sso/lms/?next=/lms/courses/7/")
    assert response.status_code == 302
    assert response["Location"] == "/lms/sso/begin?next=%2Flms%2Fcourses%2F7%2F"
    assert not TokenFamily.objects.filter(user=user, kind="sso").exists()


def test_the_sso_start_echoes_the_lms_state_in_the_form(client, user):
    client.force_login(user)
    html = client.get(SSO_START).content.decode()
    assert f'name="state" value="{STATE}"' in html


def test_storefront_logout_revokes_the_tokens_handed_to_the_lms(user):
    browser = Client()
    browser.force_login(user)
    first = re.search(r'name="token" value="([^"]+)"', browser.get(SSO_START).content.decode()).group(1)
    second = re.search(r'name="token" value="([^"]+)"', browser.get(SSO_START).content.decode()).group(1)
    assert TokenFamily.objects.filter(user=user, kind="sso").count() == 1  # one family per session
    other_browser = Client()
    other_browser.force_login(user)
    elsewhere = re.search(r'name="token" value="([^"]+)"',
                          other_browser.get(SSO_START).content.decode()).group(1)

    browser.post("/account/logout/")

    assert token_validate(token=first)["error"]["code"] == "REVOKED_TOKEN"
    assert token_validate(token=second)["error"]["code"] == "REVOKED_TOKEN"
    assert token_validate(token=elsewhere)["valid"] is True


def test_the_admin_login_is_the_sites_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/account/login/?next=/admin/"


def test_an_erased_user_cannot_sign_in_on_the_pages(client):
    from identity.services.accounts import user_erase

    gone = UserFactory(verified=True)
    user_erase(user_id=gone.pk, actor="system:tests")
    client.post("/account/login/", {"login": gone.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_changing_the_password_on_the_pages_ends_the_sso_tokens(client, user, password):
    client.force_login(user)
    token = re.search(r'name="token" value="([^"]+)"', client.get(SSO_START).content.decode()).group(1)
    response = client.post("/account/password/change/", {
        "oldpassword": password, "password1": "a-fresh-pass-phrase", "password2": "a-fresh-pass-phrase"})
    assert response.status_code == 302
    assert token_validate(token=token)["error"]["code"] == "REVOKED_TOKEN"


@pytest.mark.parametrize("path", ["/account/", "/account/email/", "/account/password/change/", "/account/2fa/",
                                  "/account/data/", "/account/delete/"])
def test_every_account_page_has_the_account_menu_and_the_favicon(client, user, path):
    """Issue 8, item 17."""
    client.force_login(user)
    html = client.get(path).content.decode()
    assert 'class="account-nav' in html and 'href="/account/2fa/"' in html, path
    assert 'rel="icon"' in html


def test_the_mfa_prompt_says_recovery_codes_work(client, user):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(user, generate_totp_secret())
    client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    html = client.get("/account/2fa/authenticate/").content.decode()
    assert "recovery code" in html and "Log in" in html


def test_an_unverified_user_is_told_that_two_factor_needs_a_verified_email(client):
    from tests.identity.factories import UserFactory

    client.force_login(UserFactory(verified=False))
    html = client.get("/account/").content.decode()
    assert "needs a verified email address" in html


def test_a_bad_reset_link_gets_the_sites_styled_page(client):
    response = client.get("/account/password/reset/key/zz-not-a-key/", follow=True)
    assert response.status_code == 200
    assert b'class="site-header"' in response.content


def test_one_wording_log_in_log_out_sign_up(client, user):
    for path, wording in (("/account/login/", "Log in"), ("/account/signup/", "Sign up")):
        html = client.get(path).content.decode()
        assert wording in html and "Sign In" not in html and "Sign Up" not in html, path
    client.force_login(user)
    html = client.get("/account/logout/").content.decode()
    assert "Log out" in html and "Sign Out" not in html
