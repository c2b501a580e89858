from django.apps import AppConfig


class ToolsConfig(AppConfig):
    """Tools and agents: the governed tool registry, its executors, the agent loop and /mcp (SPEC C9)."""

    name = "apps.tools"
    label = "tools"
    verbose_name = "Tools and agents"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .builtins import install

        post_migrate.connect(install, sender=self)
