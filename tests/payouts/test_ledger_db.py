"""The database itself keeps the ledger append-only and balanced (PostgreSQL), the ORM guard on SQLite."""

import uuid

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from payouts.errors import LedgerAppendOnlyError, LedgerUnbalancedError
from payouts.models import LedgerPosting, RevenueLedgerEntry
from payouts.services.ledger import CREDIT, DEBIT, PostingDraft, posting_write
from tests.payouts.conftest import NOW, post, sale


@pytest.fixture
def posted(db, instructor, platform):
    post(sale(splits=[(platform, "3.00", "platform_fee"), (instructor, "7.00", "instructor_share")]))
    return RevenueLedgerEntry.objects.filter(payee_user_id=instructor).first()


def test_the_orm_refuses_to_update_or_delete_ledger_rows(posted):
    posted.amount = 1
    with pytest.raises(LedgerAppendOnlyError):
        posted.save()
    with pytest.raises(LedgerAppendOnlyError):
        posted.delete()
    with pytest.raises(LedgerAppendOnlyError):
        RevenueLedgerEntry.objects.filter(pk=posted.pk).update(amount=1)
    with pytest.raises(LedgerAppendOnlyError):
        LedgerPosting.objects.all().delete()


def test_an_unbalanced_posting_is_refused_before_anything_is_written(db, instructor):
    draft = PostingDraft(key=f"test:{uuid.uuid4()}", kind="sale", currency="USD", occurred_at=NOW)
    draft.add("sales_clearing", DEBIT, __import__("decimal").Decimal("10.00"), "sale")
    draft.add("payee_pending", CREDIT, __import__("decimal").Decimal("9.99"), "instructor_share", instructor)
    with pytest.raises(LedgerUnbalancedError):
        posting_write(draft=draft, now=NOW)
    assert not LedgerPosting.objects.filter(key=draft.key).exists()


@pytest.mark.postgres
def test_postgresql_refuses_an_update_of_a_ledger_row(posted):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payouts_revenueledgerentry SET amount = 1 WHERE id = %s", [posted.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM payouts_revenueledgerentry WHERE id = %s", [posted.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payouts_ledgerposting SET currency = 'EUR'")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_an_unbalanced_posting_at_commit(instructor):
    posting_id = uuid.uuid4()
    with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payouts_ledgerposting (id, key, kind, event_id, event_type, original_event_id, order_id, "
            "product_id, currency, occurred_at, created_at, description) VALUES "
            "(%s, %s, 'sale', '', '', '', '', '', 'USD', now(), now(), '')", [posting_id, f"raw:{posting_id}"])
        for account, kind, amount, payee in [("sales_clearing", "debit", "10.00", ""),
                                             ("payee_pending", "credit", "9.00", instructor)]:
            cursor.execute(
                "INSERT INTO payouts_revenueledgerentry (posting_id, event_id, order_id, product_id, type, amount, "
                "currency, account, payee_user_id, reason, created_at) VALUES (%s, '', '', '', %s, %s, 'USD', %s, %s, "
                "'x', now())", [posting_id, kind, amount, account, payee])
    assert not LedgerPosting.objects.filter(pk=posting_id).exists()
