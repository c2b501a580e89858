"""Seed the default tiers from SPEC; staff edit them in the admin afterwards."""

from django.db import migrations

DEFAULT_TIERS = [
    # name, description, rpm, rph, tpm, concurrent streams, tokens per month
    ("free", "Evaluation", 10, 100, 20_000, 1, 100_000),
    ("professional", "Teams in production", 30, 500, 100_000, 3, 1_000_000),
    ("enterprise", "Large organisations", 60, 2_000, 400_000, 10, 10_000_000),
    ("unlimited", "Internal and partner use", 120, None, None, 25, None),
]


def seed(apps, schema_editor) -> None:
    Tier = apps.get_model("tenancy", "Tier")
    for name, description, rpm, rph, tpm, streams, monthly in DEFAULT_TIERS:
        Tier.objects.update_or_create(
            name=name,
            defaults={
                "description": description,
                "requests_per_minute": rpm,
                "requests_per_hour": rph,
                "tokens_per_minute": tpm,
                "concurrent_streams": streams,
                "tokens_per_month": monthly,
            },
        )


def unseed(apps, schema_editor) -> None:
    apps.get_model("tenancy", "Tier").objects.filter(name__in=[t[0] for t in DEFAULT_TIERS], tenants=None).delete()


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
