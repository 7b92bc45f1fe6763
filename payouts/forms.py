"""Payee settings forms: each valid form is one service call in the view."""

from decimal import Decimal

from django import forms
from django_countries import countries

from payouts.models import PayoutAccount, PayoutSchedule, TaxInfo


class PayoutAccountForm(forms.Form):
    method = forms.ChoiceField(choices=PayoutAccount.Method.choices, widget=forms.RadioSelect)
    stripe_account_id = forms.CharField(label="Stripe account id", required=False, max_length=80,
                                        help_text="From your Stripe Connect dashboard, e.g. acct_1A2b3C4d.")
    account_holder = forms.CharField(label="Account holder", required=False, max_length=200)
    account_number = forms.CharField(label="IBAN or account number", required=False, max_length=60)
    routing_code = forms.CharField(label="Routing number, sort code or BIC", required=False, max_length=40)
    bank_name = forms.CharField(label="Bank", required=False, max_length=120)

    def clean(self):
        data = super().clean()
        if data.get("method") == PayoutAccount.Method.STRIPE_CONNECT and not data.get("stripe_account_id"):
            self.add_error("stripe_account_id", "Enter your Stripe account id.")
        if data.get("method") == PayoutAccount.Method.MANUAL:
            for name in ("account_holder", "account_number"):
                if not data.get(name):
                    self.add_error(name, "Required for a bank transfer.")
        return data


class TaxInfoForm(forms.Form):
    legal_name = forms.CharField(label="Legal name", max_length=200)
    country = forms.ChoiceField(choices=[("", "Choose your country"), *countries])
    tax_id = forms.CharField(label="Tax id (SSN, EIN, VAT or national id)", max_length=40,
                             help_text="Stored encrypted; only the last four characters are shown.")
    form = forms.ChoiceField(label="Tax form", choices=TaxInfo.Form.choices)
    certify = forms.BooleanField(label="I certify that this information is correct.")

    def clean(self):
        data = super().clean()
        if data.get("country") == "US" and data.get("form") != TaxInfo.Form.W9:
            self.add_error("form", "US persons file a W-9.")
        if data.get("country") and data.get("country") != "US" and data.get("form") == TaxInfo.Form.W9:
            self.add_error("form", "Outside the US, file a W-8BEN (individuals) or W-8BEN-E (entities).")
        return data


class PayoutScheduleForm(forms.Form):
    frequency = forms.ChoiceField(choices=PayoutSchedule.Frequency.choices)
    day = forms.IntegerField(min_value=0, max_value=28,
                             help_text="Weekly: 0 = Monday to 6 = Sunday. Monthly: day 1 to 28.")
    minimum_amount = forms.DecimalField(label="Minimum payout", min_value=Decimal(0), max_digits=12,
                                        decimal_places=2)

    def clean(self):
        data = super().clean()
        day, frequency = data.get("day"), data.get("frequency")
        if day is not None and frequency == PayoutSchedule.Frequency.WEEKLY and day > 6:
            self.add_error("day", "A weekday is 0 (Monday) to 6 (Sunday).")
        if day is not None and frequency == PayoutSchedule.Frequency.MONTHLY and day < 1:
            self.add_error("day", "A day of the month is 1 to 28.")
        return data
