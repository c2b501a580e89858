"""The staff admin site: every page needs a login verified with a TOTP device (django-otp)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.models import Device

# Staff pages that are not a model's list: (title, URL name, permission that may see it).
REPORTS = (("Usage report", "admin:metering_usage_report", "metering.view_usagerecord"),)


class CatalystLoginForm(OTPAdminAuthenticationForm):
    """django-otp's admin login, but a user with exactly one confirmed device signs in with
    username, password and code in one step. django-otp asks for a device choice so that a code is
    never tried against every device (each miss throttles that device); with one device there is
    nothing to choose. Users with several devices still pick one."""

    def _chosen_device(self, user) -> Device | None:
        chosen = super()._chosen_device(user)
        if chosen is not None or self.cleaned_data.get("otp_device"):
            return chosen
        # clean_otp runs this inside a transaction: lock the device as from_persistent_id would.
        only = list(devices_for_user(user, confirmed=True, for_verify=True))
        return only[0] if len(only) == 1 else None

    @staticmethod
    def device_choices(user) -> list[tuple[str, str]]:
        choices = OTPAdminAuthenticationForm.device_choices(user)
        return choices[1:] if len(choices) == 2 else choices  # no blank entry to skip past


class CatalystAdminSite(OTPAdminSite):
    site_header = "Catalyst administration"
    site_title = "Catalyst admin"
    index_title = "Operations"
    login_form = CatalystLoginForm

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        reports = [(title, reverse(name)) for title, name, perm in REPORTS if request.user.has_perm(perm)]
        return super().index(request, {"reports": reports, **(extra_context or {})})


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the system (the ledger, the audit trail): staff read them, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
