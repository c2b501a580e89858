"""The platform's default cache policy, as shipped: semantic (which includes exact), an hour,
temperatures up to 1 (an unset one counts as 1), and a stale answer for up to a day when every
provider fails. Staff change it, or override it per tier and tenant, in the admin."""

from django.db import migrations

DEFAULT = {
    "mode": "semantic", "ttl_seconds": 3600, "similarity_threshold": 0.85, "max_temperature": 1.0,
    "serve_stale": True, "stale_seconds": 86400,
}  # fmt: skip


def seed(apps, schema_editor) -> None:
    CachePolicy = apps.get_model("cache", "CachePolicy")
    CachePolicy.objects.get_or_create(scope_key="-:-:", defaults={"use_case": "", **DEFAULT})


def unseed(apps, schema_editor) -> None:
    apps.get_model("cache", "CachePolicy").objects.filter(scope_key="-:-:").delete()


class Migration(migrations.Migration):
    dependencies = [("cache", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
