from django import forms

from learning.services.legacy import MAX_PASSWORD_LENGTH


class LegacyLoginForm(forms.Form):
    email = forms.CharField(label="Email", max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label="Password", max_length=MAX_PASSWORD_LENGTH, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
