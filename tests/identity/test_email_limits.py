"""Password reset and verification resend are limited per email on the API as on the pages (issue 8 item 4)."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db

RESET = "/api/v1/auth/password/reset/"
RESEND = "/api/v1/auth/registration/resend-email/"


def _reset_mails(to: str) -> int:
    return sum(1 for message in mail.outbox if to in message.to)


def test_eight_api_resets_to_one_person_send_at_most_the_per_email_limit(api_client):
    user = UserFactory(verified=True)
    statuses = []
    for n in range(8):
        # A rotated X-Forwarded-For changes nothing: no proxy is trusted by default.
        statuses.append(api_client.post(RESET, {"email": user.email.upper() if n % 2 else user.email},
                                        format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code)
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}
    assert _reset_mails(user.email) == 5


def test_the_limited_answer_says_when_to_retry_and_is_the_same_for_an_unknown_email(api_client):
    for _ in range(5):
        api_client.post(RESET, {"email": "nobody@example.com"}, format="json")
    refused = api_client.post(RESET, {"email": "nobody@example.com"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) == refused.json()["error"]["details"]["retryAfterSeconds"] > 0


def test_the_page_and_the_api_share_one_count(client, api_client):
    user = UserFactory(verified=True)
    for _ in range(5):
        client.post("/account/password/reset/", {"email": user.email})
    assert api_client.post(RESET, {"email": user.email}, format="json").status_code == 429


def test_resending_the_verification_email_is_limited_per_email(api_client):
    user = UserFactory(verified=False)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    mail.outbox.clear()
    answers = [api_client.post(RESEND, {"email": user.email}, format="json") for _ in range(6)]
    assert {answer.status_code for answer in answers} == {200}  # the answer never tells
    assert _reset_mails(user.email) == 1
