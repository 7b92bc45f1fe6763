"""Synchronous answers this app gives through ``integration.ports`` (wire shapes)."""

from learning import selectors


def sso_user(*, commerce_user_id: str) -> dict:
    """Provider ``lms.sso_user``: spec 6.2.1 ``SSOUserResponse``."""
    return selectors.sso_user_lookup(commerce_user_id=commerce_user_id)


def legacy_report() -> dict:
    """Provider ``lms.legacy_report``: ``{legacyAccounts, withPassword, migrated, duplicateEmails}``."""
    return selectors.legacy_report()
