"""MFA secrets stored before encryption was turned on (identity/mfa_crypto.py) are encrypted in place."""

from django.db import migrations

SECRET_FIELDS = {"totp": "secret", "recovery_codes": "seed"}


def encrypt_stored(apps, schema_editor):
    from identity.mfa_crypto import is_encrypted, mfa_encrypt

    Authenticator = apps.get_model("mfa", "Authenticator")
    for row in Authenticator.objects.using(schema_editor.connection.alias).filter(type__in=SECRET_FIELDS):
        field = SECRET_FIELDS[row.type]
        value = (row.data or {}).get(field)
        if isinstance(value, str) and value and not is_encrypted(value):
            row.data = {**row.data, field: mfa_encrypt(value)}
            row.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0004_service_client_audit_attempt_counters"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_stored, migrations.RunPython.noop)]
