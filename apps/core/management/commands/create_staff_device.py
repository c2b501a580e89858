"""Give a staff user a TOTP device and print its provisioning URI (scan it in an authenticator app).

The admin refuses every staff user without a verified device, so this is how the first superuser
gets in: `python manage.py create_staff_device admin --superuser`.
"""

import getpass
import secrets
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Create a TOTP device for a staff user (optionally creating the superuser) and print its otpauth:// URI."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--superuser", action="store_true", help="Create the user as a superuser if missing.")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Password for a new user; prompted for, or generated, when omitted.")
        parser.add_argument("--device-name", default="authenticator")
        parser.add_argument("--replace", action="store_true", help="Delete the user's existing TOTP devices first.")

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            if not options["superuser"]:
                raise CommandError(f"No user '{options['username']}'. Pass --superuser to create one.")
            password = options["password"] or self._ask_password()
            user = User.objects.create_superuser(options["username"], options["email"], password)
            self.stdout.write(f"Created superuser {user.username}.")
        if not user.is_staff:
            raise CommandError(f"'{user.username}' is not staff; only staff use the admin.")
        devices = TOTPDevice.objects.filter(user=user)
        if devices.exists() and not options["replace"]:
            raise CommandError(f"'{user.username}' already has a TOTP device. Pass --replace to issue a new one.")
        devices.delete()
        device = TOTPDevice.objects.create(user=user, name=options["device_name"], confirmed=True)
        self.stdout.write("Add this to an authenticator app (it is the device's secret; keep it private):")
        self.stdout.write(device.config_url)

    def _ask_password(self) -> str:
        """Prompt on a terminal; elsewhere generate one and print it once."""
        if sys.stdin.isatty():
            password = getpass.getpass("Password for the new superuser: ")
            if len(password) < 12:
                raise CommandError("Use at least 12 characters.")
            return password
        password = secrets.token_urlsafe(18)
        self.stdout.write(f"Generated password: {password}")
        return password
