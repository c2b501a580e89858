"""The staff admin site: every page needs a login verified with a TOTP device (django-otp)."""

from django.contrib import admin
from django_otp.admin import OTPAdminSite


class CatalystAdminSite(OTPAdminSite):
    site_header = "Catalyst administration"
    site_title = "Catalyst admin"
    index_title = "Operations"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the system (the ledger, the audit trail): staff read them, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
