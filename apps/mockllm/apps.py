from django.apps import AppConfig


class MockLLMConfig(AppConfig):
    """Registers the app so `manage.py runmock` exists; the server itself never imports Django."""

    name = "apps.mockllm"
    label = "mockllm"
    verbose_name = "Mock LLM provider"
