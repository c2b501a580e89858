"""Cache policies: a platform default, overridden per tier and per tenant, each optionally per use
case (`X-Catalyst-Use-Case`). The entries themselves live in the hot store (apps/cache/store.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from apps.tenancy.models import PlatformTierOrTenant, Tenant, Tier


class CacheMode(models.TextChoices):
    OFF = "off", "Off"
    EXACT = "exact", "Exact"
    SEMANTIC = "semantic", "Semantic (includes exact)"


USE_CASE = RegexValidator(r"^[a-z0-9][a-z0-9_.-]{0,62}$", "Lowercase letters, digits, '.', '_' and '-'; at most 63.")


class CachePolicy(PlatformTierOrTenant, models.Model):
    """Which answers are reused, for how long, and when a stale one may stand in for a failed provider.

    A row with neither tenant nor tier is the platform's; a tier's overrides it for that tier's
    tenants, a tenant's overrides both. `use_case` "" is the default of its scope; a named one
    applies when a request names it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="cache_policies")
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, null=True, blank=True, related_name="cache_policies")
    use_case = models.CharField(max_length=63, blank=True, validators=[USE_CASE], help_text="Empty: the default.")
    mode = models.CharField(max_length=16, choices=CacheMode.choices, default=CacheMode.SEMANTIC)
    ttl_seconds = models.PositiveIntegerField(default=3600, validators=[MaxValueValidator(30 * 86400)])
    similarity_threshold = models.FloatField(
        default=0.85, validators=[MinValueValidator(0.5), MaxValueValidator(1.0)],
        help_text="Semantic mode: the least similarity served as a hit.",
    )  # fmt: skip
    max_temperature = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)],
        help_text="Requests above it are not cached; an unset temperature counts as 1.",
    )  # fmt: skip
    serve_stale = models.BooleanField(default=True, help_text="Answer from an expired entry when every provider fails.")
    stale_seconds = models.PositiveIntegerField(
        default=86400, validators=[MaxValueValidator(30 * 86400)],
        help_text="How long past its TTL an entry may stand in.",
    )  # fmt: skip
    # One policy per scope and use case, on every database (NULLs are distinct in a unique index).
    scope_key = models.CharField(max_length=100, unique=True, editable=False)

    class Meta:
        verbose_name_plural = "cache policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tenant__isnull=True) | models.Q(tier__isnull=True), name="cache_policy_one_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} / {self.use_case or 'default'}: {self.mode}"

    what = "policy"

    def scope_parts(self) -> tuple[str, ...]:
        return (self.use_case,)

    def clean(self) -> None:
        self.clean_scope(self.use_case or "the default")


class CachePurge(models.Model):
    """Staff purged a tenant's entries: all of them, or those of one use case or one model. An entry
    stored before a purge that matches it is never served again, in any process (the purges are
    part of the policy snapshot), and expires from the hot store on its own."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="cache_purges")
    use_case = models.CharField(max_length=63, blank=True, validators=[USE_CASE], help_text="Empty: every use case.")
    model = models.CharField(
        max_length=100, blank=True, help_text="A model asked for or that answered. Empty: every model."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        what = " / ".join(part for part in (self.use_case, self.model) if part) or "everything"
        return f"{self.tenant}: {what}"
