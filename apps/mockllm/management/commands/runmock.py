"""`python manage.py runmock [--host 127.0.0.1] [--port 8100] [behaviour flags]`: serve the mock LLM provider."""

from django.core.management.base import BaseCommand, CommandError

from apps.mockllm.behaviour import BehaviourError, add_arguments, config_from_options
from apps.mockllm.server import run


class Command(BaseCommand):
    help = "Serve the mock OpenAI/Anthropic provider (the same server as `python -m apps.mockllm.server`)."

    def add_arguments(self, parser) -> None:
        add_arguments(parser)

    def handle(self, *args, **options) -> None:
        try:
            config = config_from_options(options)
        except BehaviourError as error:
            raise CommandError(str(error)) from None
        run(config)
