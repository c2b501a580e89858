"""Guardrail rules: for each check and direction, what happens when it finds something. A platform
default, overridden per tier and per tenant (ADR 0019)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.tenancy.models import PlatformTierOrTenant, Tenant, Tier


class Check(models.TextChoices):
    PII = "pii", "PII (e-mail, phone, card, IBAN, IP, national ids)"
    SECRETS = "secrets", "Secrets (keys, tokens, private keys, passwords)"
    INJECTION = "injection", "Prompt injection and jailbreaks"
    TOXICITY = "toxicity", "Toxicity"
    CUSTOM = "custom", "Custom patterns and word lists"


class Direction(models.TextChoices):
    INPUT = "input", "Input (what the provider would receive)"
    OUTPUT = "output", "Output (what the client would receive)"


class Action(models.TextChoices):
    OFF = "off", "Off"
    LOG = "log", "Log (record, change nothing)"
    REDACT = "redact", "Redact (replace with numbered placeholders)"
    BLOCK = "block", "Block (refuse with guardrail_blocked)"


def _patterns(value: object) -> None:
    from .checks import linear

    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ValidationError('A JSON list of non-empty strings: ["secret project", "\\\\bACME-\\\\d+\\\\b"].')
    for item in value:
        try:
            linear.compile(item)
        except linear.error as error:
            reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
            raise ValidationError(
                f"{item!r} is not a regular expression RE2 accepts ({reason}); it has no look-arounds or "
                "back-references, so no pattern can make a check run for seconds."
            ) from None


class GuardrailRule(PlatformTierOrTenant, models.Model):
    """What one check does in one direction for a scope: the platform's (neither tenant nor tier), a
    tier's, or a tenant's; the most specific wins, check by check."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="guardrail_rules")
    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, null=True, blank=True, related_name="guardrail_rules")
    check_name = models.CharField("check", max_length=16, choices=Check.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.LOG)
    threshold = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="The least score that counts as a finding (injection and toxicity score 0 to 1; patterns score 1).",
    )  # fmt: skip
    entities = models.JSONField(
        default=list, blank=True, help_text='Entity types to act on, e.g. ["CREDIT_CARD", "EMAIL_ADDRESS"]. Empty: all.'
    )
    restore = models.BooleanField(
        default=False,
        help_text="Redact: put the originals back into the answer the client receives (the provider never sees them).",
    )
    deny = models.JSONField(
        default=list, blank=True, validators=[_patterns],
        help_text="Custom check: regular expressions (case-insensitive) that are findings.",
    )  # fmt: skip
    allow = models.JSONField(
        default=list, blank=True, validators=[_patterns],
        help_text="Any check: regular expressions whose matches are never findings (an allowed test card, a domain).",
    )  # fmt: skip
    judge_model = models.CharField(
        max_length=100, blank=True,
        help_text="Injection and toxicity: a catalogue chat model asked when the local check scores below the "
        "threshold (its calls are metered to the tenant). Empty: the local check alone.",
    )  # fmt: skip
    scope_key = models.CharField(max_length=100, unique=True, editable=False)

    class Meta:
        ordering = ["check_name", "direction"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tenant__isnull=True) | models.Q(tier__isnull=True), name="guardrail_rule_one_scope"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} / {self.check_name} {self.direction}: {self.action}"

    what = "rule"

    def scope_parts(self) -> tuple[str, ...]:
        return (self.check_name, self.direction)

    def clean(self) -> None:
        if self.restore and (self.action != Action.REDACT or self.direction != Direction.INPUT):
            raise ValidationError({"restore": "Only values redacted from the input can be restored."})
        if self.direction == Direction.OUTPUT and self.action in (Action.REDACT, Action.BLOCK):
            raise ValidationError(
                {
                    "action": "On output, a rule can log for now; redacting and blocking a streamed "
                    "answer come with the streaming redaction."
                }
            )
        if self.entities and (
            not isinstance(self.entities, list) or not all(isinstance(e, str) and e for e in self.entities)
        ):
            raise ValidationError({"entities": 'A JSON list of entity types: ["PERSON", "CREDIT_CARD"].'})
        if self.judge_model:
            from apps.catalogue.models import LlmModel, ModelKind

            if self.check_name not in (Check.INJECTION, Check.TOXICITY):
                raise ValidationError({"judge_model": "Only the injection and toxicity checks have a judge."})
            if not LlmModel.objects.filter(name=self.judge_model, kind=ModelKind.CHAT).exists():
                raise ValidationError({"judge_model": "Name a chat model of the catalogue, or leave empty."})
        self.clean_scope(f"{self.check_name} on {self.direction}")
