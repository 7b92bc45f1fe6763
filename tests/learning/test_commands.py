"""import_legacy_lms_users, migrate_lms_identities and rollback_identity_phase."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from learning.models import LegacyCredential, LegacyHashBackup, LmsUser
from learning.services import legacy
from tests.learning.factories import (
    LEGACY_PASSWORD,
    LegacyHashBackupFactory,
    LegacyUserFactory,
    LmsUserFactory,
    raw_bcrypt,
)

pytestmark = pytest.mark.django_db


def run(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def jsonl(path, *records) -> str:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return str(path)


# --- import_legacy_lms_users --------------------------------------------------------

def test_import_creates_then_updates_idempotently(tmp_path):
    first_hash = raw_bcrypt("first-pass-1")
    record = {"email": "ann@example.com", "passwordHash": first_hash, "userTypes": ["learner", "staff"],
              "createdAt": "2018-05-04T03:02:01Z"}
    file = jsonl(tmp_path / "a.jsonl", record, {"email": "bob@example.com", "passwordHash": raw_bcrypt("b-pass-12"),
                                                "userTypes": ["global-admin"]})
    out, err = run("import_legacy_lms_users", file)
    assert "2 created, 0 updated, 0 unchanged" in out and err == ""
    ann = LmsUser.objects.get(email="ann@example.com")
    assert ann.commerce_user_id is None and ann.user_types == ["learner", "staff"]
    assert ann.legacy_credential.password_hash == "bcrypt$" + first_hash
    assert ann.legacy_credential.source_created_at.isoformat() == "2018-05-04T03:02:01+00:00"

    out, _ = run("import_legacy_lms_users", file)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert LmsUser.objects.count() == 2 and LegacyCredential.objects.count() == 2

    record["passwordHash"] = raw_bcrypt("second-pass-2")
    out, _ = run("import_legacy_lms_users", jsonl(tmp_path / "b.jsonl", record))
    assert "0 created, 1 updated" in out
    assert legacy.legacy_login(email="ann@example.com", password="second-pass-2", ip="1.2.3.4").pk == ann.pk


def test_import_reports_bad_lines_by_number_and_skips_them(tmp_path):
    file = jsonl(
        tmp_path / "bad.jsonl",
        {"email": "ok@example.com", "passwordHash": raw_bcrypt()},
        "{not json",
        {"email": "not-an-email", "passwordHash": raw_bcrypt()},
        {"email": "nohash@example.com"},
        {"email": "weird@example.com", "passwordHash": "md5:abcdef"},
        {"email": "types@example.com", "passwordHash": raw_bcrypt(), "userTypes": ["wizard"]},
        {"email": "date@example.com", "passwordHash": raw_bcrypt(), "createdAt": "yesterday"},
        "",
        '["a list"]',
    )
    out, err = run("import_legacy_lms_users", file)
    assert "1 created" in out and "7 invalid (skipped)" in out
    for number, words in [(2, "not JSON"), (3, "email"), (4, "passwordHash: missing"), (5, "passwordHash"),
                          (6, "userTypes"), (7, "createdAt"), (9, "not a JSON object")]:
        assert f"line {number}: " in err and words in err.split(f"line {number}: ")[1].splitlines()[0]
    assert list(LmsUser.objects.values_list("email", flat=True)) == ["ok@example.com"]


def test_import_keeps_a_django_format_hash_and_refuses_unknown_ones():
    pbkdf2 = "pbkdf2_sha256$600000$salt1234$" + "A" * 43 + "="
    assert legacy.legacy_hash_normalize(pbkdf2) == pbkdf2
    assert legacy.legacy_hash_normalize(raw_bcrypt(prefix="2a")).startswith("bcrypt$$2a$")
    for bad in ["", "!unusable", "plain-text-password", "$2b$99$" + "a" * 53]:
        with pytest.raises(legacy.InvalidLegacyRecord):
            legacy.legacy_hash_normalize(bad)


def test_emails_differing_in_case_stay_separate_and_are_reported(tmp_path):
    file = jsonl(tmp_path / "dup.jsonl", {"email": "Kim@example.com", "passwordHash": raw_bcrypt()},
                 {"email": "kim@example.com", "passwordHash": raw_bcrypt()})
    run("import_legacy_lms_users", file)
    assert LmsUser.objects.count() == 2
    from learning.selectors import legacy_duplicate_emails

    assert legacy_duplicate_emails() == ["kim@example.com"]


def test_import_leaves_a_migrated_account_alone(tmp_path):
    user = LmsUserFactory(email="moved@example.com")
    LegacyHashBackupFactory(lms_user=user)
    out, _ = run("import_legacy_lms_users", jsonl(tmp_path / "m.jsonl",
                                                  {"email": "moved@example.com", "passwordHash": raw_bcrypt()}))
    assert "1 already migrated (skipped)" in out
    assert not LegacyCredential.objects.exists() and LmsUser.objects.count() == 1


def test_import_of_a_missing_file_is_a_command_error():
    with pytest.raises(CommandError, match="cannot be read"):
        run("import_legacy_lms_users", "/nonexistent/legacy.jsonl")


# --- migrate_lms_identities ----------------------------------------------------------

def test_migration_refuses_before_phase_three(fake_identity):
    LegacyUserFactory()
    fake_identity.set(2)
    with pytest.raises(CommandError, match=r"identity phase is 2.*phase 3"):
        run("migrate_lms_identities")
    assert fake_identity.imports == [] and LegacyCredential.objects.count() == 1


def test_migration_refuses_with_duplicate_emails_and_lists_them(fake_identity):
    fake_identity.set(3)
    LegacyUserFactory(email="Twin@example.com")
    LegacyUserFactory(email="twin@example.com")
    LegacyUserFactory()
    with pytest.raises(CommandError, match=r"twin@example\.com"):
        run("migrate_lms_identities")
    assert fake_identity.imports == []


def test_a_dry_run_changes_nothing_and_says_what_would_happen(fake_identity):
    fake_identity.set(3)
    users = LegacyUserFactory.create_batch(3)
    out, _ = run("migrate_lms_identities", "--dry-run")
    assert "Dry run, nothing changed: 3 migrated" in out
    for user in users:
        assert f"would migrate {user.email}" in out
    assert fake_identity.imports == []
    assert LegacyCredential.objects.count() == 3 and not LegacyHashBackup.objects.exists()
    assert not LmsUser.objects.filter(commerce_user_id__isnull=False).exists()


def test_a_dry_run_in_phase_two_warns_that_a_real_run_would_be_refused(fake_identity):
    LegacyUserFactory()
    out, _ = run("migrate_lms_identities", "--dry-run")
    assert "A real run would be refused" in out and fake_identity.phase_number == 2


def test_migration_in_batches_backs_up_links_and_removes_the_credential(fake_identity):
    fake_identity.set(3)
    users = LegacyUserFactory.create_batch(5)
    hashes = {u.pk: u.legacy_credential.password_hash for u in users}

    out, _ = run("migrate_lms_identities", "--batch-size", "2")

    assert "5 migrated, 0 linked to an existing account, 0 skipped, 0 conflicts, 0 failed" in out
    assert "Migrating: 5/5 done" in out  # plain counts when not on a terminal
    assert len(fake_identity.imports) == 5
    assert {i["lmsUserId"]: i["passwordHash"] for i in fake_identity.imports} == {str(k): v for k, v in
                                                                                   hashes.items()}
    assert not LegacyCredential.objects.exists()
    for user in users:
        user.refresh_from_db()
        assert user.commerce_user_id == fake_identity.accounts[user.email.lower()]
        backup = LegacyHashBackup.objects.get(lms_user=user)
        assert (backup.email, backup.password_hash, backup.restored_at) == (user.email, hashes[user.pk], None)
    assert LegacyHashBackup.objects.values("batch_id").distinct().count() == 3  # 2 + 2 + 1


def test_migration_resumes_after_an_interruption_and_a_second_run_does_nothing(fake_identity):
    fake_identity.set(3)
    LegacyUserFactory.create_batch(5)
    fake_identity.unavailable_after = 3  # identity goes away during the second batch

    with pytest.raises(CommandError, match="run the command again to resume"):
        run("migrate_lms_identities", "--batch-size", "2")
    assert LegacyCredential.objects.count() == 3  # the first batch is kept, the second rolled back
    assert LmsUser.objects.filter(commerce_user_id__isnull=False).count() == 2

    fake_identity.unavailable_after = None
    out, _ = run("migrate_lms_identities", "--batch-size", "2")
    # The account Commerce made before the interruption is linked, not made twice.
    assert "2 migrated, 1 linked to an existing account, 2 skipped" in out
    assert not LegacyCredential.objects.exists()

    imports_before = len(fake_identity.imports)
    out, _ = run("migrate_lms_identities")
    assert "0 migrated, 0 linked to an existing account, 5 skipped, 0 conflicts, 0 failed" in out
    assert len(fake_identity.imports) == imports_before


def test_conflicts_are_counted_and_reported_not_fatal(fake_identity):
    fake_identity.set(3)
    clash = LegacyUserFactory(email="clash@example.com")
    LegacyUserFactory.create_batch(2)
    fake_identity.conflicts.add("clash@example.com")
    out, err = run("migrate_lms_identities")
    assert "2 migrated, 0 linked to an existing account, 0 skipped, 1 conflicts, 0 failed" in out
    assert "conflict: clash@example.com" in err and "email_conflict_unverified" in err
    assert LegacyCredential.objects.get().lms_user == clash  # still able to log in the old way
    clash.refresh_from_db()
    assert clash.commerce_user_id is None


def test_an_existing_commerce_account_is_linked(fake_identity):
    fake_identity.set(3)
    user = LegacyUserFactory(email="known@example.com")
    fake_identity.accounts["known@example.com"] = "c-known"
    out, _ = run("migrate_lms_identities")
    assert "0 migrated, 1 linked to an existing account" in out
    user.refresh_from_db()
    assert user.commerce_user_id == "c-known"


def test_a_commerce_account_already_linked_to_another_lms_user_is_a_conflict(fake_identity):
    fake_identity.set(3)
    LmsUserFactory(email="both@example.com", commerce_user_id="c-both")  # came in by SSO
    legacy_user = LegacyUserFactory(email="both@example.com")
    fake_identity.accounts["both@example.com"] = "c-both"
    out, err = run("migrate_lms_identities")
    assert "1 conflicts" in out and "already linked to LMS user" in err
    legacy_user.refresh_from_db()
    assert legacy_user.commerce_user_id is None and LegacyCredential.objects.filter(lms_user=legacy_user).exists()


def test_migration_skips_inactive_accounts(fake_identity):
    fake_identity.set(3)
    LegacyUserFactory(is_active=False)
    out, _ = run("migrate_lms_identities")
    assert "0 migrated, 0 linked to an existing account, 1 skipped" in out and fake_identity.imports == []


# --- rollback_identity_phase --------------------------------------------------------

def _migrated(fake_identity, count=2):
    fake_identity.set(3)
    users = LegacyUserFactory.create_batch(count)
    run("migrate_lms_identities")
    return users


def test_rollback_from_phase_three_restores_the_legacy_logins(fake_identity):
    users = _migrated(fake_identity)
    links = {u.pk: LmsUser.objects.get(pk=u.pk).commerce_user_id for u in users}

    out, _ = run("rollback_identity_phase")

    assert "Identity phase 3 -> 2: 2 legacy credentials restored" in out
    assert fake_identity.phase_number == 2 and "restored 2" in fake_identity.reasons[-1]
    assert LegacyCredential.objects.count() == 2
    assert not LegacyHashBackup.objects.filter(restored_at__isnull=True).exists()
    for user in users:
        assert LmsUser.objects.get(pk=user.pk).commerce_user_id == links[user.pk]  # the link stays
        assert legacy.legacy_login(email=user.email, password=LEGACY_PASSWORD, ip="10.1.1.1").pk == user.pk


def test_rollback_is_safe_to_run_again_after_identity_refused_the_phase(fake_identity, monkeypatch):
    _migrated(fake_identity)
    from integration.errors import RemoteServiceError

    def refuse(**kwargs):
        raise RemoteServiceError.relay(message="not now", code="phase_refused", status_code=409)

    monkeypatch.setattr(fake_identity, "set_phase", refuse)
    with pytest.raises(CommandError, match="identity refused the phase change"):
        run("rollback_identity_phase")
    assert LegacyCredential.objects.count() == 2 and fake_identity.phase_number == 3

    monkeypatch.undo()
    out, _ = run("rollback_identity_phase")
    assert "3 -> 2: 0 legacy credentials restored" in out and LegacyCredential.objects.count() == 2


def test_rollback_from_phase_two_only_changes_the_phase_and_from_one_refuses(fake_identity):
    users = _migrated(fake_identity)
    fake_identity.set(2)
    out, _ = run("rollback_identity_phase")
    assert "Identity phase 2 -> 1: 0 legacy credentials restored" in out and fake_identity.phase_number == 1
    assert not LegacyCredential.objects.filter(lms_user__in=users).exists()
    with pytest.raises(CommandError, match="no earlier phase"):
        run("rollback_identity_phase")


def test_migrate_again_after_a_rollback_retires_the_restored_credentials(fake_identity):
    _migrated(fake_identity)
    run("rollback_identity_phase")
    fake_identity.set(3)
    imports = len(fake_identity.imports)
    out, _ = run("migrate_lms_identities")
    assert "0 migrated, 2 linked to an existing account" in out
    assert len(fake_identity.imports) == imports  # linked already: Commerce is not asked again
    assert not LegacyCredential.objects.exists()
    assert LegacyHashBackup.objects.filter(restored_at__isnull=True).count() == 2
