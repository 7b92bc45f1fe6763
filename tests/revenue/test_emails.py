"""A payee whose revenue share ends (another payee in their place, or no share for the role any more) is told,
after the commit; a payee whose share only changes gets the assignment email instead, not this one."""

import pytest

from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db


def html_of(message) -> str:
    return next(content for content, mimetype in message.alternatives if mimetype == "text/html")


def test_a_share_that_ends_is_told_to_its_payee(people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        config_set(instructor_email="teach@example.com", title="Data science")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the instructor's share goes, the creator's changes
        config_set(instructor="0", creator="0.5", platform="0.5", effective="2026-03-01", title="Data science")
        assert list(mailoutbox) == []
    ended = [m for m in mailoutbox if "ends" in m.subject]
    assert [(m.to, m.subject) for m in ended] == [(["teach@example.com"], "Your revenue share of Data science ends")]
    assert "From 2026-03-01" in ended[0].body and "as its instructor" in ended[0].body
    assert "/lms/earnings/" in html_of(ended[0])
    assert [m.to for m in mailoutbox if "ends" not in m.subject] == [["make@example.com"]]  # changed, not ended


def test_a_share_handed_to_someone_else_tells_both(people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        config_set(creator_email="make@example.com", title="Rust")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        config_set(creator_email="refer@example.com", effective="2026-02-01", title="Rust")
    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        ("make@example.com", "Your revenue share of Rust ends"), ("refer@example.com", "Your revenue share of Rust")]
