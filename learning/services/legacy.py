"""Legacy LMS accounts: importing their password hashes and logging in with them (phases 1 and 2).

Hashes are kept in Django's format so ``check_password`` verifies them: bcrypt from
the legacy LMS (``$2a$``/``$2b$``/``$2y$``) is stored as ``bcrypt$<hash>`` with
``$2y$`` written as ``$2b$`` (the same algorithm); a hash already in Django's format
is kept as it is.
"""

import functools
import re
import secrets
from datetime import datetime
from enum import StrEnum

import argon2
import bcrypt
from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, identify_hasher, make_password
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from integration.errors import ApplicationError
from integration.throttle import (
    AttemptLimit,
    attempt_begin,
    attempt_failed,
    attempt_succeeded,
    attempts_locked_for,
    hashed,
)
from learning.errors import AccountMoved, InvalidCredentials, LoginLocked
from learning.models import LegacyCredential, LegacyHashBackup, LmsUser, LmsUserType
from learning.services.users import email_was_erased
from learning.web import STORE_LOGIN_PATH, store_url

_LEGACY_BCRYPT = re.compile(r"^\$2([aby])\$(\d{2})\$[./A-Za-z0-9]{53}$")
# The unknown-email hash when no account is stored yet (then there is no cost to follow).
_DUMMY_HASH = "bcrypt$$2b$10$bHuSAvQNDzYpKQaPiScRJeCCRQGsjTCnLZmPqJfik0rtPGI7e/MA6"
MAX_PASSWORD_LENGTH = 4096


class InvalidLegacyRecord(ApplicationError):
    code = "invalid_legacy_record"
    default_message = "The legacy account record is not valid."


def legacy_hash_normalize(raw: str) -> str:
    """The Django-format hash for a legacy ``passwordHash``; raises ``InvalidLegacyRecord``."""
    raw = (raw or "").strip()
    match = _LEGACY_BCRYPT.match(raw)
    if match:
        if not 4 <= int(match.group(2)) <= 31:
            raise InvalidLegacyRecord("passwordHash: bcrypt cost out of range")
        if match.group(1) == "y":
            raw = "$2b$" + raw[4:]
        return "bcrypt$" + raw
    try:
        hasher = identify_hasher(raw)
        hasher.decode(raw)
    except (ValueError, TypeError, IndexError, KeyError):
        raise InvalidLegacyRecord(
            "passwordHash: neither bcrypt ($2a$/$2b$/$2y$) nor a Django hash this site verifies") from None
    return raw


def legacy_user_types_clean(value) -> list[str]:
    if value is None:
        return [LmsUserType.LEARNER.value]
    allowed = set(LmsUserType.values)
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t in allowed for t in value):
        raise InvalidLegacyRecord(f"userTypes: a non-empty list of {', '.join(sorted(allowed))}")
    return list(dict.fromkeys(value))


class ImportOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ALREADY_MIGRATED = "already_migrated"
    ERASED = "erased"  # the person asked to be erased: an old legacy file must not bring them back


@transaction.atomic
def legacy_account_import(*, email: str, password_hash: str, user_types: list[str],
                          source_created_at: datetime | None, now: datetime) -> ImportOutcome:
    """Creates or updates one legacy account, keyed by its email exactly as the legacy LMS spelt it.

    Emails that differ only in case stay separate accounts, so the duplicate report can
    show them before migration. An account already migrated to Commerce is left alone.
    """
    if email_was_erased(email):
        return ImportOutcome.ERASED
    legacy = Q(Exists(LegacyCredential.objects.filter(lms_user_id=OuterRef("pk")))) | Q(
        Exists(LegacyHashBackup.objects.filter(lms_user_id=OuterRef("pk"))))
    user = (LmsUser.objects.select_for_update().filter(legacy, email=email)
            .order_by("created_at").first())
    if user is None:
        user = LmsUser.objects.create(email=email, user_types=user_types, created_at=now)
        LegacyCredential.objects.create(lms_user=user, password_hash=password_hash, imported_at=now,
                                        source_created_at=source_created_at)
        return ImportOutcome.CREATED
    credential = LegacyCredential.objects.select_for_update().filter(lms_user=user).first()
    if credential is None:
        return ImportOutcome.ALREADY_MIGRATED
    changed = False
    if user.user_types != user_types:
        user.user_types = user_types
        user.save(update_fields=["user_types", "updated_at"])
        changed = True
    if (credential.password_hash, credential.source_created_at) != (password_hash, source_created_at):
        credential.password_hash = password_hash
        credential.source_created_at = source_created_at
        credential.imported_at = now
        credential.save(update_fields=["password_hash", "source_created_at", "imported_at"])
        changed = True
    return ImportOutcome.UPDATED if changed else ImportOutcome.UNCHANGED


def _verify(password: str, encoded: str) -> bool:
    try:
        return check_password(password, encoded)
    except ValueError:  # bcrypt refuses passwords over 72 bytes: that is a wrong password here
        return False


def _dummy_hash() -> str:
    """A hash of no one's password at the cost of the stored hashes (the latest imported one's).

    Verifying against it when no account matches makes an unknown email cost what a wrong
    password costs, whatever cost the legacy LMS used (10, 12, ...).
    """
    sample = (LegacyCredential.objects.order_by("-imported_at", "-pk")
              .values_list("password_hash", flat=True).first())
    if not sample:
        return _DUMMY_HASH
    try:
        hasher = identify_hasher(sample)
        return _dummy_hash_like(hasher.algorithm, _cost_of(hasher, sample))
    except (ValueError, TypeError, KeyError, IndexError):
        return _DUMMY_HASH


def _cost_of(hasher, encoded: str) -> tuple:
    decoded = hasher.decode(encoded)
    return tuple(sorted((key, value) for key, value in decoded.items()
                        if key in {"work_factor", "iterations", "time_cost", "memory_cost", "parallelism"}))


@functools.lru_cache(maxsize=16)
def _dummy_hash_like(algorithm: str, cost: tuple) -> str:
    """One hash per (algorithm, cost) per process: made once, then only verified against."""
    password, params = secrets.token_urlsafe(16), dict(cost)
    if algorithm == "bcrypt" and "work_factor" in params:
        return "bcrypt$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(int(params["work_factor"]))).decode()
    if "iterations" in params:
        hasher = get_hasher(algorithm)
        return hasher.encode(password, hasher.salt(), iterations=int(params["iterations"]))
    if algorithm.startswith("argon2") and {"time_cost", "memory_cost", "parallelism"} <= params.keys():
        argon2_hasher = argon2.PasswordHasher(time_cost=int(params["time_cost"]),
                                              memory_cost=int(params["memory_cost"]),
                                              parallelism=int(params["parallelism"]))
        return algorithm + argon2_hasher.hash(password)
    return make_password(password, hasher=algorithm)


def _limits(*, email: str, ip: str) -> tuple[AttemptLimit, AttemptLimit]:
    """Failures per email and per client address within the window (LEGACY_LOGIN_*)."""
    common = {"limit": settings.LEGACY_LOGIN_MAX_FAILURES, "window_seconds": settings.LEGACY_LOGIN_WINDOW_SECONDS,
              "lockout_seconds": settings.LEGACY_LOGIN_WINDOW_SECONDS}
    return (AttemptLimit(key=f"lms-legacy:email:{hashed(email)}", **common),
            AttemptLimit(key=f"lms-legacy:ip:{hashed(ip or 'unknown')}", **common))


def legacy_login(*, email: str, password: str, ip: str) -> LmsUser:
    """Checks a legacy LMS password; answers the LMS user, or raises.

    Unknown email and wrong password raise the same ``InvalidCredentials`` after one hash
    verification each, at the stored hashes' cost. After LEGACY_LOGIN_MAX_FAILURES within
    the window an email is locked (``LoginLocked``, even for the right password). An address
    over its limit only slows down: its wrong passwords answer ``LoginLocked`` with the wait,
    but the right password of an account that is not itself locked still logs in, so one
    guesser behind a shared proxy (``ip`` from ``integration.client_address``) locks nobody
    else out. An account already moved to Commerce answers ``AccountMoved`` only to someone
    who gives its (old) password, so the answer reveals nothing to others.
    """
    email = (email or "").strip()
    account, address = _limits(email=email, ip=ip)
    # Counted before the password is checked, atomically: concurrent guesses cannot pass the limit.
    if wait := attempt_begin([account]):
        raise LoginLocked.after(wait)
    if email and password and len(password) <= MAX_PASSWORD_LENGTH:
        same_email = LmsUser.objects.alias(email_ci=Lower("email")).filter(email_ci=email.lower(), is_active=True)
        credentials = list(LegacyCredential.objects.select_related("lms_user").filter(lms_user__in=same_email))
        if credentials:
            for credential in credentials:
                if _verify(password, credential.password_hash):
                    attempt_succeeded(clear=[account])
                    return credential.lms_user
        else:
            backup = (LegacyHashBackup.objects.filter(lms_user__in=same_email,
                                                      lms_user__commerce_user_id__isnull=False)
                      .order_by("-backed_up_at", "-pk").first())
            if backup is not None:
                if _verify(password, backup.password_hash):
                    attempt_succeeded(clear=[account])
                    raise AccountMoved(details={"loginUrl": store_url(STORE_LOGIN_PATH)})
            else:
                _verify(password, _dummy_hash())
    attempt_failed([address])  # the account's attempt was counted before the check
    if wait := attempts_locked_for([account, address]):
        raise LoginLocked.after(wait)
    raise InvalidCredentials()
