"""The platform's guardrails as shipped (issue 14): secrets redacted from input; PII logged in and
out; prompt injection blocked on input at the threshold chosen for at most 5 % false alarms
(docs/guardrails.md); toxicity logged. Staff change them, or override them per tier and tenant."""

from django.db import migrations

DEFAULTS = (
    ("secrets", "input", "redact", 0.5),
    ("pii", "input", "log", 0.5),
    ("pii", "output", "log", 0.5),
    ("injection", "input", "block", 0.5),
    ("toxicity", "input", "log", 0.5),
    ("toxicity", "output", "log", 0.5),
)


def seed(apps, schema_editor) -> None:
    Rule = apps.get_model("guardrails", "GuardrailRule")
    for check, direction, action, threshold in DEFAULTS:
        Rule.objects.get_or_create(
            scope_key=f"-:-:{check}:{direction}",
            defaults={"check_name": check, "direction": direction, "action": action, "threshold": threshold},
        )


def unseed(apps, schema_editor) -> None:
    keys = [f"-:-:{check}:{direction}" for check, direction, _, _ in DEFAULTS]
    apps.get_model("guardrails", "GuardrailRule").objects.filter(scope_key__in=keys).delete()


class Migration(migrations.Migration):
    dependencies = [("guardrails", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
