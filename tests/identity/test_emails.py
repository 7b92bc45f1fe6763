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


def test_a_commerce_role_granted_or_revoked_is_a_notice_after_the_commit(django_capture_on_commit_callbacks):
    from identity.services.roles import role_grant, role_revoke

    user, admin = UserFactory(verified=True), str(UserFactory().pk)
    with django_capture_on_commit_callbacks(execute=True):
        role_grant(user_id=user.pk, role="commerce-admin", reason="new hire", actor=admin)
        assert mail.outbox == []
        role_grant(user_id=user.pk, role="commerce-admin", reason="again", actor=admin)  # no change, no email
    (granted,) = mail.outbox
    assert granted.to == [user.email]
    assert granted.subject == f"You are now a commerce admin at {settings.SITE_NAME}"
    assert "/admin/" in granted.body and "every role change is recorded" in html_of(granted)

    with django_capture_on_commit_callbacks(execute=True):
        role_revoke(user_id=user.pk, role="commerce-admin", reason="left", actor=admin)
        role_revoke(user_id=user.pk, role="commerce-admin", reason="again", actor=admin)  # nothing left
    assert len(mail.outbox) == 2
    assert mail.outbox[-1].subject == f"Your commerce admin role at {settings.SITE_NAME} has ended"

    with django_capture_on_commit_callbacks(execute=True):
        role_grant(user_id=user.pk, role="payee", reason="teaches", actor=admin)
    payee = mail.outbox[-1]
    assert payee.subject == f"You are now a payee at {settings.SITE_NAME}" and "/payouts/" in html_of(payee)


def test_a_payee_role_the_lms_changes_is_told_by_its_revenue_share_emails_instead(django_capture_on_commit_callbacks,
                                                                                settings):
    from identity.services.roles import actor_for_service, actor_for_system, role_grant, role_revoke

    user = UserFactory(verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        role_grant(user_id=user.pk, role="payee", reason="revenue share", actor=actor_for_service("lms"))
        role_revoke(user_id=user.pk, role="payee", reason="no share left", actor=actor_for_service("lms"))
        role_grant(user_id=user.pk, role="commerce-admin", reason="setup", actor=actor_for_system("tests"))
    assert mail.outbox == []
    settings.BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = True
    with django_capture_on_commit_callbacks(execute=True):  # a billing admin mapped by the LMS: told
        role_revoke(user_id=user.pk, role="commerce-admin", reason="billing admin left",
                    actor=actor_for_service("lms"))
    assert [m.subject for m in mail.outbox] == [f"Your commerce admin role at {settings.SITE_NAME} has ended"]
