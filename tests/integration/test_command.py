"""``manage.py outbox``: listing pending and dead messages, replaying one or all."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integration.models import OutboxMessage
from tests.integration.conftest import RecordingHandler, use_handler
from tests.integration.factories import OutboxMessageFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def test_lists_pending_messages_with_a_summary():
    message = OutboxMessageFactory(aggregate_key="course:42", attempts=2, last_error="HTTP 503 maintenance")
    OutboxMessageFactory(status="dead", attempts=10, last_error="HTTP 422")
    output = run()
    assert f"{message.id:>8}  catalog.sync" in output
    assert "course:42" in output
    assert "HTTP 503 maintenance" in output
    assert "Outbox: 1 pending, 1 dead, 0 delivered, 0 dismissed." in output


def test_lists_dead_letters():
    OutboxMessageFactory(aggregate_key="course:1")
    dead = OutboxMessageFactory(status="dead", aggregate_key="course:dead", attempts=10,
                                last_error="HTTP 422 unknown_department: No such department.")
    output = run("--dead")
    assert f"{dead.id:>8}" in output
    assert "course:dead" in output
    assert "unknown_department" in output
    assert "course:1 " not in output


def test_nothing_to_list():
    assert "No dead messages." in run("--dead")


def test_replays_one_dead_letter_by_id_or_message_id(django_capture_on_commit_callbacks):
    handler = RecordingHandler()
    use_handler("catalog.sync", handler)
    first = OutboxMessageFactory(status="dead", attempts=10)
    second = OutboxMessageFactory(status="dead", attempts=10)
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--replay", str(first.id))
    assert f"Replayed message {first.id}" in output
    first.refresh_from_db()
    assert first.status == OutboxMessage.Status.DELIVERED
    with django_capture_on_commit_callbacks(execute=True):
        run("--replay", str(second.message_id))
    second.refresh_from_db()
    assert second.status == OutboxMessage.Status.DELIVERED
    assert len(handler.calls) == 2


def test_replay_refuses_what_is_not_dead_or_unknown():
    pending = OutboxMessageFactory()
    with pytest.raises(CommandError, match="dead-lettered"):
        run("--replay", str(pending.id))
    with pytest.raises(CommandError, match="No outbox message"):
        run("--replay", "999999")


def test_replays_all_dead_letters_with_plain_progress_off_a_terminal(django_capture_on_commit_callbacks):
    use_handler("catalog.sync", RecordingHandler())
    OutboxMessageFactory.create_batch(3, status="dead", attempts=10)
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--replay-all-dead")
    assert "replaying dead letters: 3/3 done" in output
    assert "Replayed 3 dead letter(s)." in output
    assert OutboxMessage.objects.filter(status="delivered").count() == 3
    assert "No dead letters to replay." in run("--replay-all-dead")
