"""``insert_ignore``: one INSERT … ON CONFLICT DO NOTHING that says which rows it wrote; ``update_together``."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.db import RowUpdate, insert_ignore, update_together
from integration.models import Heartbeat, InboxEntry

pytestmark = pytest.mark.django_db


def _row(key: str, now) -> dict:
    return {"idempotency_key": key, "topic": "entitlement", "body_sha256": "0" * 64,
            "state": InboxEntry.State.DONE, "response": {"ok": True}, "status_code": 200, "created_at": now,
            "completed_at": now, "lease_expires_at": now}


def test_it_returns_what_it_wrote_and_skips_what_exists_in_one_statement():
    now = timezone.now()
    first = InboxEntry.objects.create(**_row("k-1", now))
    with CaptureQueriesContext(connection) as queries:
        written = insert_ignore(InboxEntry, [_row("k-1", now), _row("k-2", now)], conflict=["idempotency_key"],
                                returning=["pk", "idempotency_key"])
    assert [key for _, key in written] == ["k-2"]
    assert InboxEntry.objects.get(idempotency_key="k-2").pk == written[0][0]
    assert InboxEntry.objects.get(pk=first.pk).created_at == now
    assert not any("SAVEPOINT" in query["sql"] for query in queries.captured_queries)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 1


def test_a_row_written_twice_in_one_call_is_written_once_or_refused():
    now = timezone.now()
    assert insert_ignore(InboxEntry, [], conflict=["idempotency_key"]) == []
    assert len(insert_ignore(InboxEntry, [_row("k-3", now)], conflict=["idempotency_key"])) == 1
    assert insert_ignore(InboxEntry, [_row("k-3", now)], conflict=["idempotency_key"]) == []
    with pytest.raises(ValueError):
        insert_ignore(InboxEntry, [_row("k-4", now), {"idempotency_key": "k-5"}], conflict=["idempotency_key"])


def test_update_together_makes_each_update_and_is_one_statement_on_postgresql():
    now = timezone.now()
    insert_ignore(InboxEntry, [_row("k-6", now), _row("k-7", now)], conflict=["idempotency_key"])
    heartbeat = Heartbeat.objects.create(name="job", beat_at=now)
    later = now + timedelta(minutes=1)
    with CaptureQueriesContext(connection) as queries:
        update_together((InboxEntry.objects.filter(idempotency_key="k-6"), {"response": {"answer": 1},
                                                                            "status_code": 201}),
                        (Heartbeat.objects.filter(name="job"), {"beat_at": later}))
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert list(InboxEntry.objects.values_list("idempotency_key", "response", "status_code").order_by("pk")) == [
        ("k-6", {"answer": 1}, 201), ("k-7", {"ok": True}, 200)]
    heartbeat.refresh_from_db()
    assert heartbeat.beat_at == later


def test_a_row_update_writes_its_row_only_while_its_conditions_hold_and_joins_an_update_together():
    now = timezone.now()
    (first, _), (second, _) = sorted(insert_ignore(InboxEntry, [_row("k-8", now), _row("k-9", now)],
                                                   conflict=["idempotency_key"], returning=["pk", "idempotency_key"]))
    Heartbeat.objects.create(name="job", beat_at=now)
    later = now + timedelta(minutes=1)
    with CaptureQueriesContext(connection) as queries:
        update_together(RowUpdate(InboxEntry, first, {"response": None, "status_code": 204}),
                        RowUpdate(InboxEntry, second, {"status_code": 500}, where={"topic": "another"}),
                        (Heartbeat.objects.filter(name="job"), {"beat_at": later}))
    assert len(queries.captured_queries) == (1 if connection.vendor == "postgresql" else 3)
    assert list(InboxEntry.objects.values_list("idempotency_key", "response", "status_code").order_by("pk")) == [
        ("k-8", None, 204), ("k-9", {"ok": True}, 200)]
    assert Heartbeat.objects.get(name="job").beat_at == later
    update_together(RowUpdate(InboxEntry, second, {"status_code": 201}, where={"topic": "entitlement"}))
    assert InboxEntry.objects.get(pk=second).status_code == 201
    with pytest.raises(ValueError):
        RowUpdate(InboxEntry, second, {"status_code": 201}, where={"topic": None}).as_sql(connection.alias)
