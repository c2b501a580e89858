"""The staff admin site: every page needs a login verified with a TOTP device (django-otp)."""

from django_otp.admin import OTPAdminSite


class CatalystAdminSite(OTPAdminSite):
    site_header = "Catalyst administration"
    site_title = "Catalyst admin"
    index_title = "Operations"
