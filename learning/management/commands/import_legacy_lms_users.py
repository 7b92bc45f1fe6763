"""Imports legacy LMS accounts with their password hashes, so people keep their passwords."""

import json
from collections import Counter
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.progress import progress
from learning.services.legacy import (
    ImportOutcome,
    InvalidLegacyRecord,
    legacy_account_import,
    legacy_hash_normalize,
    legacy_user_types_clean,
)

MAX_REPORTED_ERRORS = 200


def _record(line: str) -> dict:
    """The import arguments of one JSON line; raises ``InvalidLegacyRecord`` saying what is wrong."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise InvalidLegacyRecord(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise InvalidLegacyRecord("not a JSON object")
    email = data.get("email")
    if not isinstance(email, str) or not email.strip():
        raise InvalidLegacyRecord("email: missing")
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidLegacyRecord(f"email: {email!r} is not an email address") from None
    password_hash = data.get("passwordHash")
    if not isinstance(password_hash, str):
        raise InvalidLegacyRecord("passwordHash: missing")
    created_at = data.get("createdAt")
    source_created_at = None
    if created_at is not None:
        source_created_at = parse_datetime(created_at) if isinstance(created_at, str) else None
        if source_created_at is None:
            raise InvalidLegacyRecord("createdAt: not an ISO 8601 date-time")
        if timezone.is_naive(source_created_at):
            source_created_at = timezone.make_aware(source_created_at, timezone.UTC)
    return {"email": email, "password_hash": legacy_hash_normalize(password_hash),
            "user_types": legacy_user_types_clean(data.get("userTypes")), "source_created_at": source_created_at}


class Command(BaseCommand):
    help = ("Imports legacy LMS accounts from a JSON-lines FILE (email, passwordHash, userTypes, createdAt). "
            "Re-importing updates; accounts already migrated to Commerce are left alone; bad lines are "
            "reported with their numbers and skipped.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON lines, one legacy account per line")

    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{file}: cannot be read ({exc})") from None
        counts: Counter[str] = Counter()
        errors: list[str] = []
        now = timezone.now()
        for number, line in progress(enumerate(lines, start=1), total=len(lines), desc="Importing",
                                     stdout=self.stdout):
            if not line.strip():
                continue
            try:
                outcome = legacy_account_import(**_record(line), now=now)
            except InvalidLegacyRecord as exc:
                counts["invalid"] += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(f"line {number}: {exc.message}")
                continue
            counts[outcome.value] += 1
        for error in errors:
            self.stderr.write(error)
        if counts["invalid"] > len(errors):
            self.stderr.write(f"... and {counts['invalid'] - len(errors)} more invalid lines")
        self.stdout.write(self.style.SUCCESS("Legacy import done: ") + ", ".join(
            f"{counts[key]} {label}" for key, label in [
                (ImportOutcome.CREATED, "created"), (ImportOutcome.UPDATED, "updated"),
                (ImportOutcome.UNCHANGED, "unchanged"), (ImportOutcome.ALREADY_MIGRATED, "already migrated (skipped)"),
                (ImportOutcome.ERASED, "erased at their request (skipped)"),
                ("invalid", "invalid (skipped)")]))
