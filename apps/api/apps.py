from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The transports: REST (JSON and SSE), the chat WebSocket, the pages and the command line that
    talk to people. They import the domains; nothing imports them."""

    name = "apps.api"
    label = "api"
    verbose_name = "API and transports"
