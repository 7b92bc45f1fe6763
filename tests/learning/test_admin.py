"""The admin pages for LMS users and legacy credentials: search, filters, and no hash ever shown."""

import pytest

from tests.learning.factories import LegacyHashBackupFactory, LegacyUserFactory, LmsUserFactory

pytestmark = pytest.mark.django_db


def test_lms_users_are_searchable_and_filterable(admin_client):
    legacy = LegacyUserFactory(email="findme@example.com")
    LmsUserFactory(email="other@example.com", commerce_user_id="c-77")
    base = "/admin/learning/lmsuser/"
    assert b"findme@example.com" in admin_client.get(base, {"q": "findme"}).content
    assert b"other@example.com" in admin_client.get(base, {"q": "c-77"}).content
    linked = admin_client.get(base, {"linked": "yes"}).content
    assert b"other@example.com" in linked and b"findme@example.com" not in linked
    with_password = admin_client.get(base, {"legacy_password": "yes"}).content
    assert b"findme@example.com" in with_password and b"other@example.com" not in with_password

    page = admin_client.get(f"{base}{legacy.pk}/change/")
    assert page.status_code == 200
    assert b"bcrypt" in page.content
    assert legacy.legacy_credential.password_hash.split("$", 1)[1].encode() not in page.content


def test_hash_backups_are_read_only(admin_client):
    backup = LegacyHashBackupFactory()
    base = "/admin/learning/legacyhashbackup/"
    listing = admin_client.get(base, {"restored_at__isnull": "True"})
    assert listing.status_code == 200 and backup.email.encode() in listing.content
    detail = admin_client.get(f"{base}{backup.pk}/change/")
    assert detail.status_code == 200
    assert backup.password_hash.split("$", 1)[1].encode() not in detail.content
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{backup.pk}/delete/").status_code == 403
