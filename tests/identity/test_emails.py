"""Account emails: in the site's look (HTML and text), named after the site, and a notice for every security change."""

import pytest
from django.conf import settings
from django.contrib.sites.models import Site
from django.core import mail

from tests.identity.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_the_site_row_follows_the_settings_after_migrate():
    site = Site.objects.get(pk=settings.SITE_ID)
    assert site.name == settings.SITE_NAME and site.name != "example.com"


def test_the_signup_confirmation_email_is_html_and_text_with_a_working_link(client):
    client.post("/account/signup/", {"email": "newbie@example.com", "password1": "a-long-pass-phrase",
                                     "password2": "a-long-pass-phrase"})
    message = mail.outbox[-1]
    assert message.to == ["newbie@example.com"] and settings.SITE_NAME in message.subject
    html = html_of(message)
    assert "Confirm my email" in html and "/account/confirm-email/" in html and settings.SITE_NAME in html
    assert "/account/confirm-email/" in message.body  # the text part keeps the link too


def test_a_password_change_sends_a_security_notice(client):
    user = UserFactory(verified=True)
    client.force_login(user)
    mail.outbox.clear()
    client.post("/account/password/change/", {"oldpassword": PASSWORD, "password1": "another-pass-phrase",
                                               "password2": "another-pass-phrase"})
    notice = mail.outbox[-1]
    assert notice.to == [user.email]
    assert "Your password has been changed." in html_of(notice)
    assert "IP address" in html_of(notice)


def test_a_password_reset_email_carries_the_reset_link(client):
    user = UserFactory(verified=True)
    client.post("/account/password/reset/", {"email": user.email})
    html = html_of(mail.outbox[-1])
    assert "Choose a new password" in html and "/account/password/reset/key/" in html
