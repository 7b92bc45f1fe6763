from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.shortcuts import redirect

from identity.services.registration import registration_submit


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label="Current password", strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    confirm = forms.BooleanField(label="I understand that this cannot be undone.", required=True)

    def __init__(self, *args, needs_password: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].required = needs_password
        if not needs_password:
            del self.fields["password"]


class SignupForm(AllauthSignupForm):
    """allauth's sign-up page, answering the same whether or not the email is taken: a taken address
    gets no second account and no "already registered" error; the page goes on to "check your email"
    in both cases, and the service emails the owner (identity.services.registration)."""

    def validate_unique_email(self, value) -> str:
        self.account_already_exists = False
        return value.strip().lower()

    def try_save(self, request):
        registration_submit(request=request, email=self.cleaned_data["email"],
                            password=self.cleaned_data["password1"])
        return None, redirect("account_email_verification_sent")
