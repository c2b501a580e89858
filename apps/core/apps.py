from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    default = True
    name = "apps.core"
    label = "core"


class CatalystAdminConfig(admin_apps.AdminConfig):
    """The Django admin, served by an admin site that demands a verified second factor."""

    default = False
    default_site = "apps.core.admin_site.CatalystAdminSite"
