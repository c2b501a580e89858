"""Admin forms for onboarding, key creation and rotation."""

from __future__ import annotations

from django import forms
from django.utils.text import slugify

from .models import API_ENDPOINTS, ApiKey, Tenant, Tier

GRACE_CHOICES = [
    (0, "None: the old key stops at once"),
    (3600, "1 hour"),
    (86400, "24 hours"),
    (7 * 86400, "7 days"),
]


class OnboardTenantForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The organisation, as staff and its members read it.")
    slug = forms.SlugField(
        max_length=63,
        help_text="Lowercase identifier in tokens, reports and logs, e.g. acme. Filled from the name; "
        "it cannot change later.",
    )
    tier = forms.ModelChoiceField(
        queryset=Tier.objects.all(),
        empty_label=None,
        to_field_name="name",
        help_text="Sets the rate limits, concurrent streams and monthly token allowance.",
    )
    monthly_budget_usd = forms.DecimalField(
        label="Monthly budget (USD)",
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Spend cap per calendar month. Empty means no USD cap.",
    )
    owner_username = forms.CharField(
        max_length=150,
        required=False,
        help_text="Created when it does not exist; a new owner gets a link to choose a password.",
    )
    owner_email = forms.EmailField(required=False, help_text="A new owner's set-password link is sent here.")
    team_name = forms.CharField(
        max_length=200, initial="Default", help_text="The first team: the owner and the first key belong to it."
    )
    key_name = forms.CharField(
        max_length=100, initial="First key", help_text="A label for the key in lists; the secret is shown once."
    )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slugify(slug) != slug:
            raise forms.ValidationError("Use lowercase letters, digits and hyphens.")
        if Tenant.objects.filter(slug=slug).exists():
            raise forms.ValidationError("A tenant with this slug already exists.")
        return slug


def _names(value: str) -> list[str]:
    return sorted({item.strip() for item in value.replace("\n", ",").split(",") if item.strip()})


class RotateKeysForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(choices=GRACE_CHOICES, coerce=int, initial=86400, label="Grace period")


class ApiKeyAdminForm(forms.ModelForm):
    """Key fields as a non-developer edits them: model names as text, endpoints as checkboxes."""

    allowed_models = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Comma-separated model names. Empty allows every model of the tenant's tier.",
    )
    allowed_endpoints = forms.MultipleChoiceField(
        choices=[(name, name) for name in API_ENDPOINTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked allows every endpoint.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "tenant", "name", "team", "user", "allowed_models", "allowed_endpoints",
            "requests_per_minute", "tokens_per_minute", "expires_at",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_models"] = ", ".join(self.instance.allowed_models)
            self.initial["allowed_endpoints"] = list(self.instance.allowed_endpoints)

    def clean_allowed_models(self) -> list[str]:
        return _names(self.cleaned_data["allowed_models"])

    def clean_allowed_endpoints(self) -> list[str]:
        return sorted(self.cleaned_data["allowed_endpoints"])

    def clean(self) -> dict:
        data = super().clean()
        tenant, team = data.get("tenant"), data.get("team")
        if tenant and team and team.tenant_id != tenant.pk:
            self.add_error("team", "This team belongs to another tenant.")
        return data
