"""The identity migration phase starts as a row (phase 1), and on PostgreSQL the role audit log refuses
UPDATE and DELETE (TRUNCATE, used by test flushes, is allowed)."""

from django.db import migrations

CREATE = [
    """CREATE OR REPLACE FUNCTION identity_roleauditlog_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = 'identity_roleauditlog is append-only: ' || TG_OP || ' refused';
    END;
    $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS identity_roleauditlog_append_only ON identity_roleauditlog",
    """CREATE TRIGGER identity_roleauditlog_append_only BEFORE UPDATE OR DELETE ON identity_roleauditlog
    FOR EACH ROW EXECUTE FUNCTION identity_roleauditlog_append_only()""",
]

DROP = [
    "DROP TRIGGER IF EXISTS identity_roleauditlog_append_only ON identity_roleauditlog",
    "DROP FUNCTION IF EXISTS identity_roleauditlog_append_only()",
]


PHASE_ROW = """
INSERT INTO identity_identityphase (id, phase, updated_at)
SELECT 1, 1, CURRENT_TIMESTAMP WHERE NOT EXISTS (SELECT 1 FROM identity_identityphase WHERE id = 1)
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("identity", "0002_roles_tokens_service_clients_phases")]

    operations = [
        migrations.RunSQL(PHASE_ROW, migrations.RunSQL.noop),
        migrations.RunPython(forwards, backwards),
    ]
