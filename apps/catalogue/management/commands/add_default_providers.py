"""Create the `openai` and `anthropic` providers from OPENAI_BASE_URL / ANTHROPIC_BASE_URL.

Their keys are read at request time from OPENAI_API_KEY and ANTHROPIC_API_KEY; nothing secret is
stored. Existing providers of those names are left as staff configured them.
"""

import os

from django.core.management.base import BaseCommand

from apps.catalogue.models import Provider, ProviderKind
from apps.catalogue.snapshot import catalogue_changed

DEFAULTS = [
    ("openai", ProviderKind.OPENAI, "OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    ("anthropic", ProviderKind.ANTHROPIC, "ANTHROPIC_BASE_URL", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
]


class Command(BaseCommand):
    help = "Create the openai and anthropic providers from the environment (base URLs; key variable names)."

    def handle(self, *args, **options) -> None:
        for name, kind, url_variable, default_url, key_variable in DEFAULTS:
            base_url = os.environ.get(url_variable) or default_url
            provider, created = Provider.objects.get_or_create(
                name=name, defaults={"kind": kind, "base_url": base_url, "api_key_env": key_variable}
            )
            state = "created" if created else "already exists, left unchanged"
            key_state = "set" if os.environ.get(key_variable) else "NOT set"
            self.stdout.write(f"{name}: {provider.base_url} ({state}); key from {key_variable}: {key_state}")
        catalogue_changed()
