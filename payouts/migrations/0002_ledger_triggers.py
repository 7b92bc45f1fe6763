"""The database enforces the ledger on PostgreSQL (django-hordak's approach):

* a deferred constraint trigger checks, at commit, that each posting touched by
  the transaction has at least two legs and that its credits equal its debits
  per currency;
* a trigger refuses every UPDATE and DELETE of a leg or a posting (append-only:
  a mistake is corrected by a new posting, never by an edit).

SQLite has no deferred constraint triggers; there the service checks each
posting before it writes it (``payouts.services.ledger.posting_write``).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION payouts_check_posting_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced RECORD;
    legs integer;
BEGIN
    SELECT count(*) INTO legs FROM payouts_revenueledgerentry WHERE posting_id = NEW.posting_id;
    IF legs < 2 THEN
        RAISE EXCEPTION 'ledger posting % has % leg(s); a posting needs at least two', NEW.posting_id, legs
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, sum(CASE WHEN type = 'credit' THEN amount ELSE -amount END) AS net
      INTO unbalanced
      FROM payouts_revenueledgerentry
     WHERE posting_id = NEW.posting_id
     GROUP BY currency
    HAVING sum(CASE WHEN type = 'credit' THEN amount ELSE -amount END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger posting % does not balance: % % more credit than debit',
            NEW.posting_id, unbalanced.net, unbalanced.currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER payouts_posting_balanced
    AFTER INSERT ON payouts_revenueledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payouts_check_posting_balanced();

CREATE OR REPLACE FUNCTION payouts_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the revenue ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payouts_entry_append_only
    BEFORE UPDATE OR DELETE ON payouts_revenueledgerentry
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();

CREATE TRIGGER payouts_posting_append_only
    BEFORE UPDATE OR DELETE ON payouts_ledgerposting
    FOR EACH ROW EXECUTE FUNCTION payouts_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payouts_posting_append_only ON payouts_ledgerposting;
DROP TRIGGER IF EXISTS payouts_entry_append_only ON payouts_revenueledgerentry;
DROP FUNCTION IF EXISTS payouts_refuse_change();
DROP TRIGGER IF EXISTS payouts_posting_balanced ON payouts_revenueledgerentry;
DROP FUNCTION IF EXISTS payouts_check_posting_balanced();
"""


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on another database (SQLite has no plpgsql)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [PostgresOnlySQL(FORWARD, BACKWARD)]
