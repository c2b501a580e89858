from django.apps import AppConfig


class GuardrailsConfig(AppConfig):
    """Guardrails: rules per tenant, tier and the platform, the local checks, and the guard stages."""

    name = "apps.guardrails"
    label = "guardrails"
    verbose_name = "Guardrails"
