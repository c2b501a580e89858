"""Print the current TOTP code of a staff user's device. Development only (DEBUG)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


class Command(BaseCommand):
    help = "Print the current code of a user's TOTP device, for logging in to a local admin. Refused unless DEBUG."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("totp_code only runs with DEBUG on; use an authenticator app.")
        device = TOTPDevice.objects.filter(user__username=options["username"], confirmed=True).first()
        if device is None:
            raise CommandError(f"'{options['username']}' has no TOTP device.")
        self.stdout.write(current_code(device))
