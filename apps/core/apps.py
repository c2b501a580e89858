from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.auth.apps import AuthConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TOTPConfig


class CoreConfig(AppConfig):
    default = True
    name = "apps.core"
    label = "core"
    verbose_name = "Core services"


class CatalystAdminConfig(admin_apps.AdminConfig):
    """The Django admin, served by an admin site that demands a verified second factor."""

    default = False
    default_site = "apps.core.admin_site.CatalystAdminSite"


# Third-party apps under the names an operator reads in the admin. Django's documented way to
# rename an app someone else ships: INSTALLED_APPS names these subclasses instead of the originals.


class UsersConfig(AuthConfig):
    default = False
    verbose_name = "Users and groups"


class TwoFactorConfig(TOTPConfig):
    default = False
    verbose_name = "Two-factor devices"
