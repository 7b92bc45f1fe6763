from django import forms


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label="Current password", strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    confirm = forms.BooleanField(label="I understand that this cannot be undone.", required=True)

    def __init__(self, *args, needs_password: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].required = needs_password
        if not needs_password:
            del self.fields["password"]
