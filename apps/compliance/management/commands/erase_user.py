"""Erase one user's conversations and stored payloads in a tenant; the erasure itself is audited."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.compliance.retention import erase_user
from apps.tenancy.models import Tenant


class Command(BaseCommand):
    help = "Erase a user's conversations and the prompts stored about them in one tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--user", required=True, help="Username.")

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        user = get_user_model().objects.filter(username=options["user"]).first()
        if tenant is None or user is None:
            raise CommandError("No such tenant or user.")
        counts = erase_user(tenant=tenant, user=user)
        self.stdout.write(
            f"Erased {counts['conversations']} conversations, {counts['messages']} messages, "
            f"{counts['responses']} stored responses, {counts['files']} files and {counts['audit_payloads']} "
            "stored payloads of "
            f"{user.get_username()} in {tenant.slug}."
        )
