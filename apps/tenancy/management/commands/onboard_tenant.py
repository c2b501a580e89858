"""Create a tenant (and its owner), print its first API key alone on the last line."""

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from apps.tenancy import services


class Command(BaseCommand):
    help = "Onboard a tenant: tenant, default team, optional owner, first API key (printed once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--tier", required=True)
        parser.add_argument("--owner", help="Username of the owner; created when it does not exist.")
        parser.add_argument("--owner-email", default="")
        parser.add_argument("--team", default="Default", help="Name of the first team.")
        parser.add_argument("--budget-usd", help="Monthly budget in USD.")

    def handle(self, *args, **options) -> None:
        budget = None
        if options["budget_usd"] is not None:
            try:
                budget = Decimal(options["budget_usd"])
            except InvalidOperation:
                raise CommandError(f"--budget-usd must be a number, not {options['budget_usd']!r}.") from None
        try:
            onboarding = services.tenant_onboard(
                slug=options["slug"],
                name=options["name"],
                tier=options["tier"],
                owner_username=options["owner"],
                owner_email=options["owner_email"],
                team_name=options["team"],
                monthly_budget_usd=budget,
            )
        except services.TenancyError as error:
            raise CommandError(str(error)) from None
        tenant = onboarding.tenant
        self.stdout.write(
            f"Tenant {tenant.slug} ({tenant.name}) on tier {tenant.tier.name}, team {onboarding.team.slug}."
        )
        if onboarding.owner:
            self.stdout.write(f"Owner: {onboarding.owner.user.username}.")
        self.stdout.write(f"API key {onboarding.issued.key.prefix} (shown once, store it now):")
        self.stdout.write(onboarding.issued.plaintext)
