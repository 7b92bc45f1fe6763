"""Payees are told when their payouts are put on hold and when the hold is lifted (after the commit; the
team's reason stays out of the email); an erased payee is written to by nobody."""

import pytest
from django.core import mail

from payouts.services.payouts import payout_hold_place, payout_hold_release
from tests.payouts.conftest import NOW

pytestmark = pytest.mark.django_db


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_a_hold_and_its_release_each_send_one_email(instructor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payout_hold_place(payee_user_id=instructor, reason="chargeback under review", actor="admin", now=NOW)
        assert mail.outbox == []
        payout_hold_place(payee_user_id=instructor, reason="again", actor="admin", now=NOW)  # kept, not new
    (held,) = mail.outbox
    assert held.to == ["teacher@example.com"] and held.subject == "Your payouts are on hold"
    assert "keep being added to your balance" in held.body and "/payouts/settings/" in held.body
    assert "chargeback" not in held.body and "chargeback" not in html_of(held)
    assert "<strong>on hold</strong>" in html_of(held)

    with django_capture_on_commit_callbacks(execute=True):
        payout_hold_release(payee_user_id=instructor, actor="admin", now=NOW)
    resumed = mail.outbox[-1]
    assert len(mail.outbox) == 2 and resumed.subject == "Your payouts have resumed"
    assert "/payouts/" in resumed.body and "lifted" in html_of(resumed)


def test_a_hold_on_an_account_no_longer_there_emails_nobody(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        payout_hold_place(payee_user_id="00000000-0000-0000-0000-000000000001", reason="x", actor="admin", now=NOW)
    assert mail.outbox == []
