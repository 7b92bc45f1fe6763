"""The revenue-config editor's form: the same checks as the API, shown beside the fields."""

from decimal import Decimal

from django import forms

from revenue.models import Basis, ReleasePolicy


def _share(label: str, *, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=0, max_value=1, max_digits=5, decimal_places=4,
                              required=required, initial=Decimal("0"),
                              widget=forms.NumberInput(attrs={"step": "0.0001", "min": "0", "max": "1",
                                                              "data-share": "1", "inputmode": "decimal"}))


class RevenueConfigForm(forms.Form):
    instructor_email = forms.EmailField(label="Instructor's email", required=False,
                                        help_text="Empty: each enrollment's own instructor is paid.")
    instructor_split = _share("Instructor's share")
    creator_email = forms.EmailField(label="Content creator's email", required=False)
    creator_split = _share("Content creator's share")
    affiliate_email = forms.EmailField(label="Affiliate's email", required=False)
    affiliate_split = _share("Affiliate's share", required=False)
    platform_split = _share("Platform's share")
    basis = forms.ChoiceField(choices=Basis.choices, initial=Basis.NET)
    release_policy = forms.ChoiceField(label="Release", choices=ReleasePolicy.choices, initial=ReleasePolicy.ON_SALE)
    effective_date = forms.DateField(label="In force from", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        names = ("instructor_split", "creator_split", "affiliate_split", "platform_split")
        if all(name not in self.errors for name in names):
            total = sum((data.get(name) or Decimal("0") for name in names), Decimal("0"))
            if total != 1:
                raise forms.ValidationError(
                    f"The shares sum to {total:.4f}, not 1: the instructor, creator, affiliate and platform "
                    "shares must add up to exactly 1.", code="revenue_shares_not_one")
        return data


class ProductOpenForm(forms.Form):
    product_type = forms.ChoiceField(label="Type", choices=[("course", "Course"), ("program", "Program")])
    external_id = forms.CharField(label="Course or program id", max_length=255)
