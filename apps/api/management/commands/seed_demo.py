"""Seed the local demo (make run): a demo tenant and a fresh key, an admin with a TOTP device,
and a chat user.

Idempotent: each run revokes the previous demo key, issues a new one and resets the local admin
and chat passwords, then prints what a newcomer needs. Refused outside DEBUG.
"""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.catalogue.services import catalogue_seed_demo
from apps.tenancy import services
from apps.tenancy.models import ApiKey, Tenant

DEMO_KEY_NAME = "make run demo key"


class Command(BaseCommand):
    help = "Create or refresh the local demo tenant, key and admin login, and print them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--mock-url", default=settings.MOCK_LLM_URL, help="Where the mock LLM server listens.")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo is for local development (DEBUG on) only.")
        catalogue_seed_demo(mock_url=options["mock_url"])
        tenant = Tenant.objects.filter(slug="demo").first()
        if tenant is None:
            tenant = services.tenant_onboard(
                slug="demo", name="Demo tenant", tier="professional", owner_username="demo", key_name="first key"
            ).tenant
        for key in ApiKey.objects.for_tenant(tenant).usable().filter(name=DEMO_KEY_NAME):
            services.key_revoke(key=key)
        issued = services.key_create(tenant=tenant, name=DEMO_KEY_NAME, team=tenant.teams.first())

        User = get_user_model()
        password = secrets.token_urlsafe(12)
        admin_user = User.objects.filter(username="admin").first()
        if admin_user is None:
            admin_user = User.objects.create_superuser("admin", "admin@localhost", password)
        else:
            admin_user.set_password(password)
            admin_user.save(update_fields=["password"])
        device = TOTPDevice.objects.filter(user=admin_user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=admin_user, name="local", confirmed=True)

        chat_user = User.objects.get(username="demo")  # the demo tenant's owner
        chat_password = secrets.token_urlsafe(12)
        chat_user.set_password(chat_password)
        chat_user.save(update_fields=["password"])

        base = options["base_url"].rstrip("/")
        lines = [
            "",
            "Catalyst is starting (embedded default)" if not settings.REDIS_URL else "Catalyst is starting",
            f"  Admin:      {base}/admin/",
            f"    login:    admin / {password}",
            "    2FA code: run `make otp` (or scan the URI below in an authenticator app)",
            f"    TOTP URI: {device.config_url}",
            f"  Chat page:  {base}/chat/",
            f"    login:    demo / {chat_password}",
            f"  API:        {base}/v1/  (OpenAPI: {base}/api/schema/)",
            f"  Mock LLM:   {options['mock_url']}  (models gpt-4o-mini, gpt-4o, claude-sonnet, text-embedding-3-small)",
            f"  Health:     {base}/health",
            f"  Demo tenant: {tenant.slug} (tier {tenant.tier.name})",
            f"  Try it:     curl {base}/v1/chat/completions -H 'Authorization: Bearer {issued.plaintext}' \\",
            """              -H 'Content-Type: application/json' \\""",
            """              -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'""",
            "  Demo API key:",
            issued.plaintext,
            "",
        ]
        self.stdout.write("\n".join(lines))
