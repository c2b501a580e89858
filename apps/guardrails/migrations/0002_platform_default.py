"""The platform's guardrails as shipped (issue 14): secrets redacted from input; PII logged in and
out; prompt injection blocked on input at the threshold chosen for at most 5 % false alarms
(docs/guardrails.md); toxicity logged. Staff change them, or override them per tier and tenant.

The PII rules name the pattern entities: names need the spaCy model, about 2.6 ms of CPU per
message, which would halve a server's throughput for a rule that only logs (ADR 0019). A rule
that lists PERSON or LOCATION, or leaves its list empty, gets names too."""

from django.db import migrations

PATTERNS = [
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO",
    "IT_FISCAL_CODE", "ES_NIF", "IN_AADHAAR", "IN_PAN", "DE_TAX_ID", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE",
]  # fmt: skip
DEFAULTS = (
    ("secrets", "input", "redact", 0.5, []),
    ("pii", "input", "log", 0.5, PATTERNS),
    ("pii", "output", "log", 0.5, PATTERNS),
    ("injection", "input", "block", 0.5, []),
    ("toxicity", "input", "log", 0.5, []),
    ("toxicity", "output", "log", 0.5, []),
)


def seed(apps, schema_editor) -> None:
    Rule = apps.get_model("guardrails", "GuardrailRule")
    for check, direction, action, threshold, entities in DEFAULTS:
        Rule.objects.get_or_create(
            scope_key=f"-:-:{check}:{direction}",
            defaults={"check_name": check, "direction": direction, "action": action, "threshold": threshold,
                      "entities": entities},
        )  # fmt: skip


def unseed(apps, schema_editor) -> None:
    keys = [f"-:-:{check}:{direction}" for check, direction, *_ in DEFAULTS]
    apps.get_model("guardrails", "GuardrailRule").objects.filter(scope_key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("guardrails", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
