"""``insert_ignore``: one INSERT … ON CONFLICT DO NOTHING that says which rows it wrote."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.db import insert_ignore
from integration.models import InboxEntry

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
