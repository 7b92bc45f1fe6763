"""A payee's own settings: where the money goes, their tax information, their payout schedule."""

import re
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from payouts import crypto
from payouts.errors import PayoutAccountInvalidError
from payouts.models import PayoutAccount, PayoutSchedule, TaxInfo

STRIPE_ACCOUNT = re.compile(r"^acct_[A-Za-z0-9]{6,64}$")
ACCOUNT_NUMBER = re.compile(r"^[A-Z0-9 ]{4,40}$")


@transaction.atomic
def payout_account_set(*, payee_user_id: str, method: str, now: datetime, stripe_account_id: str = "",
                       account_holder: str = "", account_number: str = "", routing_code: str = "",
                       bank_name: str = "") -> PayoutAccount:
    """Sets (or replaces) the payee's payout account. Bank details are stored encrypted, never in plain."""
    values: dict = {"method": method, "updated_at": now, "stripe_account_id": "", "bank_details_encrypted": "",
                    "bank_last4": ""}
    if method == PayoutAccount.Method.STRIPE_CONNECT:
        stripe_account_id = stripe_account_id.strip()
        if not STRIPE_ACCOUNT.match(stripe_account_id):
            raise PayoutAccountInvalidError(details={"stripeAccountId": ["A Stripe account id looks like acct_1A2b3C."]})
        values["stripe_account_id"] = stripe_account_id
    elif method == PayoutAccount.Method.MANUAL:
        number = account_number.replace("-", "").upper().strip()
        errors = {}
        if not account_holder.strip():
            errors["accountHolder"] = ["The name on the bank account is required."]
        if not ACCOUNT_NUMBER.match(number):
            errors["accountNumber"] = ["An IBAN or account number: 4 to 40 letters and digits."]
        if errors:
            raise PayoutAccountInvalidError(details=errors)
        compact = number.replace(" ", "")
        values["bank_details_encrypted"] = crypto.encrypt_json({
            "accountHolder": account_holder.strip(), "accountNumber": compact,
            "routingCode": routing_code.strip(), "bankName": bank_name.strip()})
        values["bank_last4"] = compact[-4:]
    else:
        raise PayoutAccountInvalidError(details={"method": [f"One of {', '.join(PayoutAccount.Method.values)}."]})
    account, _ = PayoutAccount.objects.update_or_create(payee_user_id=payee_user_id,
                                                        defaults=values, create_defaults={**values, "created_at": now})
    return account


@transaction.atomic
def tax_info_set(*, payee_user_id: str, legal_name: str, country: str, tax_id: str, form: str,
                 now: datetime) -> TaxInfo:
    tax_id = tax_id.strip()
    values = {"legal_name": legal_name.strip(), "country": country.upper(), "form": form,
              "tax_id_encrypted": crypto.encrypt_text(tax_id), "tax_id_last4": tax_id[-4:], "updated_at": now,
              "certified_at": now}
    info, _ = TaxInfo.objects.update_or_create(payee_user_id=payee_user_id, defaults=values)
    return info


@transaction.atomic
def payout_schedule_set(*, payee_user_id: str, frequency: str, day: int, minimum_amount: Decimal,
                        now: datetime) -> PayoutSchedule:
    schedule, _ = PayoutSchedule.objects.update_or_create(
        payee_user_id=payee_user_id,
        defaults={"frequency": frequency, "day": day, "minimum_amount": minimum_amount, "updated_at": now})
    return schedule


def payout_secrets_rotate() -> int:
    """Re-encrypts every stored secret under the first of PAYOUT_ENCRYPTION_KEYS; returns how many rows."""
    count = 0
    for account in PayoutAccount.objects.exclude(bank_details_encrypted="").iterator():
        PayoutAccount.objects.filter(pk=account.pk).update(
            bank_details_encrypted=crypto.rotate(account.bank_details_encrypted))
        count += 1
    for info in TaxInfo.objects.iterator():
        TaxInfo.objects.filter(pk=info.pk).update(tax_id_encrypted=crypto.rotate(info.tax_id_encrypted))
        count += 1
    return count
