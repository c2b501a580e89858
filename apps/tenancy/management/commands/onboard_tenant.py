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
        parser.add_argument("--owner-email", default="", help="Where a new owner's set-password link is sent.")
        parser.add_argument("--team", default="Default", help="Name of the first team.")
        parser.add_argument("--budget-usd", help="Monthly budget in USD.")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where people reach Catalyst, for a new owner's set-password link (default: %(default)s).",
        )

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
        if onboarding.owner_created:
            self._invite_owner(onboarding, options["base_url"])
        self.stdout.write(f"API key {onboarding.issued.key.prefix} (shown once, store it now):")
        self.stdout.write(onboarding.issued.plaintext)

    def _invite_owner(self, onboarding: services.Onboarding, site_url: str) -> None:
        """Print the new owner's set-password link and e-mail it when they have an address."""
        user = onboarding.owner.user
        lifetime = services.set_password_link_lifetime()
        self.stdout.write(f"Set-password link for {user.username} (works once, for {lifetime}):")
        self.stdout.write(services.set_password_url(user=user, site_url=site_url))
        try:
            emailed = services.owner_invite_send(onboarding=onboarding, site_url=site_url)
        except OSError as error:
            self.stderr.write(f"Could not e-mail the link to {user.email} ({error}); pass it on yourself.")
        else:
            self.stdout.write(f"E-mailed to {user.email}." if emailed else "No e-mail address: pass it on yourself.")
