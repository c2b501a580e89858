from django.apps import AppConfig


class ResponsesConfig(AppConfig):
    """Stored answers of the OpenAI Responses API, so `previous_response_id` can continue them."""

    name = "apps.responses"
    label = "responses"
    verbose_name = "Stored responses"
