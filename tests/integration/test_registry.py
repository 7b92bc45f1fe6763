"""The handler registry: one answering handler per topic, extra handlers after it in the same transaction."""

import pytest
from django.db import transaction

from integration import registry
from integration.contracts import UnknownTopicError
from integration.errors import ApplicationError
from integration.inbox import inbox_process
from integration.models import InboxEntry
from integration.topics import Topic
from tests.integration.conftest import use_handler

pytestmark = pytest.mark.django_db

PAYLOAD = {"idempotencyKey": "erase-k1", "commerceUserId": "c-1", "erasedAt": "2026-01-01T00:00:00Z"}


class Refused(ApplicationError):
    status_code = 422
    code = "test_refused"


def _run(key: str = "erase-k1"):
    handler = registry.get_handler(Topic.USER_ERASED)
    delivery = registry.Delivery(idempotency_key=key, source_service="commerce")
    return inbox_process(idempotency_key=key, topic=Topic.USER_ERASED, body_sha256="a" * 64,
                         run=lambda: handler(dict(PAYLOAD), delivery=delivery))


def test_a_second_handler_for_a_topic_is_refused():
    use_handler(Topic.USER_ERASED, lambda message, *, delivery: {"success": True})
    with pytest.raises(registry.RegistryError):
        registry.register_handler(Topic.USER_ERASED, lambda message, *, delivery: {"success": True})


def test_extra_handlers_run_after_the_handler_in_registration_order_and_the_handler_answers():
    calls = []
    use_handler(Topic.USER_ERASED, lambda message, *, delivery: calls.append(("main", message.commerce_user_id))
                or {"success": True})

    def first(message, *, delivery):
        calls.append(("first", message.commerce_user_id, transaction.get_connection().in_atomic_block))
        return {"ignored": True}

    def second(message, *, delivery):
        calls.append(("second", delivery.idempotency_key))

    registry.register_extra_handler(Topic.USER_ERASED, first)
    registry.register_extra_handler(Topic.USER_ERASED, second)
    registry.register_extra_handler(Topic.USER_ERASED, first)  # the same one twice is registered once

    result = _run()
    assert result.body == {"success": True}
    assert calls == [("main", "c-1"), ("first", "c-1", True), ("second", "erase-k1")]

    _run()  # the inbox answers a repeat: nobody runs again
    assert len(calls) == 3


def test_an_extra_handler_that_raises_rolls_the_handler_back_with_it():
    from integration.models import OutboxMessage
    from integration.outbox import outbox_send

    def main(message, *, delivery):
        outbox_send(topic=Topic.USER_ERASED, aggregate_key="user:c-1", idempotency_key="written-by-main",
                    payload={**PAYLOAD, "idempotencyKey": "written-by-main"})
        return {"success": True}

    def refuses(message, *, delivery):
        raise Refused()

    use_handler(Topic.USER_ERASED, main)
    registry.register_extra_handler(Topic.USER_ERASED, refuses)
    with pytest.raises(Refused):
        _run()
    assert not OutboxMessage.objects.filter(idempotency_key="written-by-main").exists()
    assert not InboxEntry.objects.filter(idempotency_key="erase-k1", state="done").exists()


def test_an_extra_handler_for_an_unknown_topic_fails_at_registration():
    with pytest.raises(UnknownTopicError):
        registry.register_extra_handler("no.such.topic", lambda message, *, delivery: None)


def test_snapshot_and_restore_keep_the_extra_handlers():
    state = registry.snapshot()
    registry.register_extra_handler(Topic.USER_ERASED, print)
    assert print in registry.snapshot()["extras"][Topic.USER_ERASED]
    registry.restore(state)
    assert print not in registry.snapshot()["extras"].get(Topic.USER_ERASED, [])
