"""Print a JWT for a member of a tenant, alone on the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.tenancy import selectors
from apps.tenancy.models import Tenant
from apps.tenancy.tokens import LifetimeTooLong, issue_token


class Command(BaseCommand):
    help = "Issue a JWT (WebSocket chat, service accounts) for a user who is a member of the tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--user", required=True, help="Username.")
        parser.add_argument("--ttl", type=int, default=None, help="Lifetime in seconds (default JWT_TTL_SECONDS).")

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant '{options['tenant']}'.")
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None or selectors.membership_of(user, tenant) is None:
            raise CommandError(f"'{options['user']}' is not an active member of tenant '{tenant.slug}'.")
        if options["ttl"] is not None and options["ttl"] <= 0:
            raise CommandError("--ttl must be positive.")
        try:
            token = issue_token(user_id=user.pk, tenant_slug=tenant.slug, ttl_seconds=options["ttl"])
        except LifetimeTooLong as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Token for {user.username} in {tenant.slug}:")
        self.stdout.write(token)
