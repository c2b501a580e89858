"""Tenants, their tiers, teams, memberships and API keys (SPEC C1)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

# Endpoint names a key may be scoped to (the `allowed_endpoints` of ApiKey).
API_ENDPOINTS = (
    "chat", "responses", "completions", "messages", "embeddings", "models", "generate", "jobs", "usage", "me",
    "conversations", "guardrails", "files", "vector_stores", "tools", "mcp",
)  # fmt: skip


class PlatformTierOrTenant:
    """A model mixin for settings that belong to the platform (neither `tenant` nor `tier`), a tier
    or a tenant, one row per scope and `scope_parts()`: `scope_key` holds them, unique on every
    database (NULLs are distinct in a unique index). The model declares the fields."""

    what = "setting"  # how errors name a row: "policy", "rule"

    def scope_parts(self) -> tuple[str, ...]:
        raise NotImplementedError

    def scope_key_now(self) -> str:
        return ":".join((str(self.tenant_id or "-"), str(self.tier_id or "-"), *self.scope_parts()))

    def save(self, *args, **kwargs) -> None:
        self.scope_key = self.scope_key_now()
        super().save(*args, **kwargs)

    def clean_scope(self, taken: str) -> None:
        """Refuse a row of both a tier and a tenant, and a second row for the same scope and parts
        (`taken` completes "The tenant acme already has a policy for …")."""
        if self.tenant_id and self.tier_id:
            raise ValidationError(
                f"A {self.what} is the platform's, a tier's or a tenant's: not a tier's and a tenant's."
            )
        if type(self).objects.filter(scope_key=self.scope_key_now()).exclude(pk=self.pk).exists():
            raise ValidationError(f"The {self.scope} already has a {self.what} for {taken}.")

    @property
    def scope(self) -> str:
        if self.tenant_id:
            return f"tenant {self.tenant}"
        if self.tier_id:
            return f"tier {self.tier}"
        return "platform"


class Tier(models.Model):
    """A service tier: the default limits of every tenant on it. `None` means unlimited."""

    name = models.SlugField(max_length=40, unique=True)
    description = models.CharField(max_length=200, blank=True)
    requests_per_minute = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    requests_per_hour = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    concurrent_streams = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    tokens_per_month = models.PositiveBigIntegerField(null=True, blank=True)
    # Retrieval quotas per tenant (apps/retrieval); empty: unlimited.
    max_files = models.PositiveIntegerField(null=True, blank=True, help_text="Files a tenant may hold.")
    max_file_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Bytes of files a tenant may hold, in all."
    )
    max_chunks = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Chunks a tenant's vector stores may hold, in all."
    )

    class Meta:
        ordering = ["requests_per_minute", "name"]

    def __str__(self) -> str:
        return self.name


ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def validate_origins(value: object) -> None:
    """A list of browser origins: scheme, host and optional port, no path (`https://app.example.com`)."""
    if not isinstance(value, list) or not all(isinstance(item, str) and ORIGIN.match(item) for item in value):
        raise ValidationError('Give a list of origins such as ["https://app.example.com", "http://localhost:3000"].')


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="tenants")
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    monthly_budget_usd = models.DecimalField(
        "monthly budget (USD)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Spend cap per calendar month. Empty means no USD cap.",
    )
    monthly_token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens per calendar month. Empty means the tier's allowance."
    )
    override_requests_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the tier's.")
    override_requests_per_hour = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the tier's.")
    override_tokens_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the tier's.")
    override_concurrent_streams = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the tier's.")
    allowed_origins = models.JSONField(
        default=list, blank=True, validators=[validate_origins],
        help_text='Browser apps that may call the API with this tenant\'s keys (CORS): ["https://app.example.com"].',
    )  # fmt: skip
    keep_prompts = models.BooleanField(
        default=False, help_text="Keep prompts and answers in the audit trail (for the retention period)."
    )
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, default=30,
        help_text="Days to keep chat messages and the prompts stored in the audit trail. Empty: until erased.",
    )  # fmt: skip
    embedding_model = models.CharField(
        max_length=100, blank=True,
        help_text="The catalogue embedding model that makes this tenant's vectors (semantic cache, retrieval); "
        "its calls are metered to the tenant. Empty: the platform's (EMBEDDING_MODEL), by default the "
        "local model packaged with Catalyst.",
    )  # fmt: skip
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        super().clean()
        if self.embedding_model:
            from apps.catalogue.models import LlmModel, ModelKind  # the catalogue's models name tiers

            if not LlmModel.objects.filter(name=self.embedding_model, kind=ModelKind.EMBEDDING).exists():
                raise ValidationError({"embedding_model": "Name an embedding model of the catalogue, or leave empty."})

    def effective_limits(self) -> dict[str, int | None]:
        """The tier's limits with this tenant's overrides applied. None means unlimited."""
        tier = self.tier
        return {
            "requests_per_minute": self.override_requests_per_minute or tier.requests_per_minute,
            "requests_per_hour": self.override_requests_per_hour or tier.requests_per_hour,
            "tokens_per_minute": self.override_tokens_per_minute or tier.tokens_per_minute,
            "concurrent_streams": self.override_concurrent_streams or tier.concurrent_streams,
            "monthly_budget_usd": str(self.monthly_budget_usd) if self.monthly_budget_usd is not None else None,
            "monthly_tokens": self.monthly_token_budget or tier.tokens_per_month,
        }

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE


class Team(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="teams")
    slug = models.SlugField(max_length=63)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["tenant__slug", "slug"]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="team_slug_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.slug}"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    AUDITOR = "auditor", "Auditor"


class Membership(models.Model):
    """A user's place in one tenant. A user may belong to several tenants."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["tenant__slug", "user__username"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"


class ApiKeyQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> ApiKeyQuerySet:
        return self.filter(tenant=tenant)

    def usable(self, now=None) -> ApiKeyQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ROTATING = "rotating", "Rotating (grace period)"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ApiKey(models.Model):
    """An API key. Only its SHA-256 is stored; the full key is shown once when created."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="api_keys")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="api_keys"
    )
    allowed_models = models.JSONField(
        default=list, blank=True, help_text="Model names; empty allows every model of the tier."
    )
    allowed_endpoints = models.JSONField(default=list, blank=True, help_text="Endpoint names; empty allows all.")
    requests_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="This key's own cap; empty: the tenant's limit."
    )
    tokens_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="This key's own cap; empty: the tenant's limit."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_to = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="rotated_from"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    def status_at(self, now) -> KeyStatus:
        if self.revoked_at is not None:
            return KeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return KeyStatus.EXPIRED
        if self.rotated_to_id is not None:
            return KeyStatus.ROTATING
        return KeyStatus.ACTIVE

    @property
    def status(self) -> KeyStatus:
        return self.status_at(timezone.now())
