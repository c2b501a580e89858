from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """What compliance staff do across the domains: retention, erasure, a request's whole story.
    It reads and changes the audit trail, chat and metering; none of them depends on it."""

    name = "apps.compliance"
    label = "compliance"
    verbose_name = "Compliance"
