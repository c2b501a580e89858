"""The model catalogue (SPEC C2): providers, the models they serve, and fallback chains.

Provider keys are never stored: a provider names the environment variable that holds its key.
Base URLs are set here by staff only; nothing a tenant sends can change where a request goes.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from apps.tenancy.models import Tier

MODEL_NAME = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$", "Letters, digits and . _ : / - only.")
ENV_NAME = RegexValidator(r"^[A-Z_][A-Z0-9_]{0,99}$", "An environment variable name, e.g. OPENAI_API_KEY.")


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (self-hosted)"


class Provider(models.Model):
    name = models.SlugField(max_length=63, unique=True)
    kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    base_url = models.URLField(max_length=300, help_text="The API root, e.g. https://api.openai.com/v1.")
    api_key_env = models.CharField(
        "API key variable",
        max_length=100,
        blank=True,
        validators=[ENV_NAME],
        help_text="Name of the environment variable holding the key. Empty for servers that need none.",
    )
    timeout_seconds = models.FloatField(default=30.0, validators=[MinValueValidator(0.1)], help_text="Per attempt.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelKind(models.TextChoices):
    CHAT = "chat", "Chat"
    EMBEDDING = "embedding", "Embedding"


def _price(what: str, **options) -> models.DecimalField:
    """A price in dollars per million tokens."""
    return models.DecimalField(
        f"{what} $/M tokens", max_digits=12, decimal_places=6, validators=[MinValueValidator(0)], **options
    )


class LlmModel(models.Model):
    """A model as tenants name it, mapped to a provider's upstream model, with its prices."""

    name = models.CharField(max_length=100, unique=True, validators=[MODEL_NAME])
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="models")
    upstream_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=ModelKind.choices, default=ModelKind.CHAT)
    context_window = models.PositiveIntegerField(default=128_000)
    max_output_tokens = models.PositiveIntegerField(default=4_096)
    price_input = _price("input", default=Decimal("0"))
    price_output = _price("output", default=Decimal("0"))
    price_cached_input = _price("cached input", default=Decimal("0"))
    price_cache_write = _price(
        "cache write",
        null=True,
        blank=True,
        help_text="Input written to the provider's prompt cache (Anthropic charges 1.25 times the input price for "
        "five-minute writes). Empty: the input price.",
    )
    quality = models.PositiveSmallIntegerField(
        default=2, help_text="1 (small) to 5 (frontier). model=auto picks the cheapest model good enough."
    )
    supports_tools = models.BooleanField(default=True)
    tiers = models.ManyToManyField(Tier, blank=True, related_name="models", help_text="Empty allows every tier.")
    fallback_chain = models.ForeignKey(
        "FallbackChain",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="primary_models",
        help_text="Models tried, in order, when this one fails.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "model"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == ModelKind.EMBEDDING and self.provider_id and self.provider.kind == ProviderKind.ANTHROPIC:
            raise ValidationError({"kind": "Anthropic providers serve no embedding models."})
        if FallbackChain.objects.filter(name=self.name).exists():
            raise ValidationError({"name": "A fallback chain already has this name."})


class ModelPrice(models.Model):
    """A price change taking effect at a moment; before the first one, the model's own prices apply."""

    model = models.ForeignKey(LlmModel, on_delete=models.CASCADE, related_name="price_changes")
    effective_from = models.DateTimeField()
    price_input = _price("input")
    price_output = _price("output")
    price_cached_input = _price("cached input", default=Decimal("0"))
    price_cache_write = _price("cache write", null=True, blank=True, help_text="Empty: the input price.")

    class Meta:
        ordering = ["model", "effective_from"]
        constraints = [models.UniqueConstraint(fields=["model", "effective_from"], name="one_price_per_moment")]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d %H:%M}"


class FallbackChain(models.Model):
    """An ordered list of models for one use case. Its name can be requested like a model name."""

    name = models.CharField(max_length=100, unique=True, validators=[MODEL_NAME])
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.name and LlmModel.objects.filter(name=self.name).exists():
            raise ValidationError({"name": "A model already has this name."})


class ChainLink(models.Model):
    chain = models.ForeignKey(FallbackChain, on_delete=models.CASCADE, related_name="links")
    model = models.ForeignKey(LlmModel, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["chain", "position"]
        constraints = [models.UniqueConstraint(fields=["chain", "model"], name="model_once_per_chain")]

    def __str__(self) -> str:
        return f"{self.chain} #{self.position}: {self.model}"
