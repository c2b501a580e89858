"""Tenancy in the admin: onboarding, tiers, teams, members and API keys.

Writes go through `services`, so the admin invalidates cached credentials exactly as the command
line does. New key secrets are kept in the session only until the page that shows them once.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.admin_log import AuditedAdmin

from . import credential_cache, services
from .forms import ApiKeyAdminForm, OnboardTenantForm, RotateKeysForm
from .models import ApiKey, KeyStatus, Membership, Team, Tenant, TenantStatus, Tier

ISSUED_SESSION_KEY = "catalyst.issued_keys"
# A new owner to show a set-password link for: their id, never the link (it is built on display).
NEW_OWNER_SESSION_KEY = "catalyst.new_owner"
User = get_user_model()


def remember_issued(request: HttpRequest, issued: list[services.IssuedKey]) -> None:
    request.session[ISSUED_SESSION_KEY] = [
        {"prefix": i.key.prefix, "name": i.key.name, "tenant": i.key.tenant.slug, "plaintext": i.plaintext}
        for i in issued
    ]


def issued_keys_url() -> str:
    return reverse("admin:tenancy_apikey_issued")


def form_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    form,
    *,
    title: str,
    submit_label: str,
    fieldsets: list | tuple | None = None,
    prepopulated_fields: dict[str, tuple[str, ...]] | None = None,
) -> HttpResponse:
    """An add page that calls a service instead of saving a model, in the change form's markup."""
    fieldsets = fieldsets or [(None, {"fields": list(form.fields)})]
    adminform = helpers.AdminForm(form, fieldsets, prepopulated_fields or {}, model_admin=model_admin)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "adminform": adminform,
        "media": model_admin.media + adminform.media,
        "opts": model_admin.model._meta,
        "submit_label": submit_label,
    }
    return render(request, "admin/tenancy/form_page.html", context)


def confirm_action(request, modeladmin, queryset, *, action: str, question: str, label: str, form=None):
    """The intermediate page of a destructive action: list the objects, ask, post back."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Are you sure?",
        "question": question,
        "queryset": queryset,
        "action": action,
        "confirm_label": label,
        "form": form,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/tenancy/confirm_action.html", context)


# --- tiers, tenants, teams, members -------------------------------------------------------------


@admin.register(Tier)
class TierAdmin(AuditedAdmin):
    list_display = (
        "name",
        "requests_per_minute",
        "requests_per_hour",
        "tokens_per_minute",
        "concurrent_streams",
        "tokens_per_month",
        "tenant_count",
    )
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tier]:
        return super().get_queryset(request).annotate(tenant_count=Count("tenants"))

    @admin.display(ordering="tenant_count", description="tenants")
    def tenant_count(self, tier: Tier) -> int:
        return tier.tenant_count

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        for tenant in obj.tenants.all():
            services.tenant_saved(tenant=tenant, by=request.user)


@admin.register(Tenant)
class TenantAdmin(AuditedAdmin):
    list_display = ("slug", "name", "tier", "status", "monthly_budget_usd", "key_count", "member_count", "created_at")
    list_filter = ("status", "tier")
    list_select_related = ("tier",)
    search_fields = ("slug", "name")
    readonly_fields = ("created_at",)
    actions = ["suspend_tenants", "activate_tenants"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return (
            super()
            .get_queryset(request)
            .annotate(key_count=Count("api_keys", distinct=True), member_count=Count("memberships", distinct=True))
        )

    def get_readonly_fields(self, request, obj=None):
        return ("slug", "created_at") if obj else self.readonly_fields

    @admin.display(ordering="key_count", description="keys")
    def key_count(self, tenant: Tenant) -> int:
        return tenant.key_count

    @admin.display(ordering="member_count", description="members")
    def member_count(self, tenant: Tenant) -> int:
        return tenant.member_count

    onboarding_fieldsets = (
        ("Tenant", {"fields": ("name", "slug", "tier", "monthly_budget_usd")}),
        ("Owner and first team", {"fields": ("owner_username", "owner_email", "team_name")}),
        ("First API key", {"fields": ("key_name",)}),
    )

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        """Adding a tenant is onboarding: tenant, team, owner and first key in one step."""
        if not self.has_add_permission(request):
            raise admin.sites.PermissionDenied
        form = OnboardTenantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                onboarding = services.tenant_onboard(
                    slug=data["slug"],
                    name=data["name"],
                    tier=data["tier"],
                    monthly_budget_usd=data["monthly_budget_usd"],
                    team_name=data["team_name"],
                    owner_username=data["owner_username"] or None,
                    owner_email=data["owner_email"] or "",
                    key_name=data["key_name"],
                    created_by=request.user,
                )
            except services.TenancyError as error:
                form.add_error(None, str(error))
            else:
                self.log_addition(request, onboarding.tenant, "Onboarded")
                remember_issued(request, [onboarding.issued])
                if onboarding.owner_created:
                    self._invite_owner(request, onboarding)
                self.message_user(request, f"Tenant {onboarding.tenant.slug} onboarded.", messages.SUCCESS)
                return HttpResponseRedirect(issued_keys_url())
        return form_page(
            request,
            self,
            form,
            title="Onboard a tenant",
            submit_label="Onboard tenant",
            fieldsets=self.onboarding_fieldsets,
            prepopulated_fields={"slug": ("name",)},
        )

    def _invite_owner(self, request: HttpRequest, onboarding: services.Onboarding) -> None:
        """E-mail the new owner their set-password link; the next page shows it once as well."""
        email = onboarding.owner.user.email
        try:
            emailed = services.owner_invite_send(onboarding=onboarding, site_url=request.build_absolute_uri("/"))
        except OSError as error:
            emailed = False
            self.message_user(request, f"Could not e-mail {email}: {error}. Pass the link on yourself.", messages.ERROR)
        request.session[NEW_OWNER_SESSION_KEY] = {
            "user_id": onboarding.owner.user.pk,
            "emailed_to": email if emailed else "",
        }

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        services.tenant_saved(tenant=obj, by=request.user)

    def delete_model(self, request, obj) -> None:
        services.tenant_delete(tenant=obj, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for tenant in queryset:
            services.tenant_delete(tenant=tenant, by=request.user)

    @admin.action(description="Suspend selected tenants", permissions=["change"])
    def suspend_tenants(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return confirm_action(
                request,
                self,
                queryset,
                action="suspend_tenants",
                label="Yes, suspend",
                question="Every key and token of these tenants will get 403 until the tenants are activated again.",
            )
        for tenant in queryset:
            services.tenant_set_status(tenant=tenant, status=TenantStatus.SUSPENDED, by=request.user)
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.SUCCESS)
        return None

    @admin.action(description="Activate selected tenants", permissions=["change"])
    def activate_tenants(self, request, queryset):
        for tenant in queryset:
            services.tenant_set_status(tenant=tenant, status=TenantStatus.ACTIVE, by=request.user)
        self.message_user(request, f"Activated {queryset.count()} tenant(s).", messages.SUCCESS)


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ("slug", "name", "tenant", "member_count")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("tenant",)
    search_fields = ("slug", "name", "tenant__slug")
    autocomplete_fields = ("tenant",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(ordering="member_count", description="members")
    def member_count(self, team: Team) -> int:
        return team.member_count

    def delete_model(self, request, obj) -> None:
        services.team_delete(team=obj, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for team in queryset:
            services.team_delete(team=team, by=request.user)


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ("user", "tenant", "team", "role", "created_at")
    list_filter = ("role", ("tenant", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "tenant", "team")
    search_fields = ("user__username", "user__email", "tenant__slug")
    autocomplete_fields = ("tenant", "user", "team")
    readonly_fields = ("created_at",)

    def save_model(self, request, obj, form, change) -> None:
        if obj.team and obj.team.tenant_id != obj.tenant_id:
            obj.team = None
            self.message_user(request, "The team belongs to another tenant and was cleared.", messages.WARNING)
        super().save_model(request, obj, form, change)
        credential_cache.forget_user(obj.user)

    def delete_model(self, request, obj) -> None:
        services.membership_remove(membership=obj)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset:
            services.membership_remove(membership=membership)


# --- API keys -------------------------------------------------------------------------------------


class KeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return KeyStatus.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        usable = Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        match self.value():
            case KeyStatus.ACTIVE:
                return queryset.filter(usable, rotated_to__isnull=True)
            case KeyStatus.ROTATING:
                return queryset.filter(usable, rotated_to__isnull=False)
            case KeyStatus.EXPIRED:
                return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
            case KeyStatus.REVOKED:
                return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    form = ApiKeyAdminForm
    list_display = ("prefix", "name", "tenant", "team", "user", "scopes", "last_used_at", "status", "expires_at")
    list_filter = (KeyStatusFilter, ("tenant", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("tenant", "team", "user")
    search_fields = ("prefix", "name", "tenant__slug")
    autocomplete_fields = ("tenant", "team", "user")
    readonly_fields = ("prefix", "status", "last_used_at", "revoked_at", "rotated_to", "created_by", "created_at")
    actions = ["revoke_keys", "rotate_keys"]

    def get_readonly_fields(self, request, obj=None):
        return ("tenant", *self.readonly_fields) if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # keys are revoked, never deleted: their history stays explainable

    @admin.display(description="scopes")
    def scopes(self, key: ApiKey) -> str:
        models_part = ", ".join(key.allowed_models) or "all models"
        endpoints_part = ", ".join(key.allowed_endpoints) or "all endpoints"
        return f"{models_part}; {endpoints_part}"

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        return key.status.label

    def get_urls(self):
        issued = path("issued/", self.admin_site.admin_view(self.issued_view), name="tenancy_apikey_issued")
        return [issued, *super().get_urls()]

    def issued_view(self, request: HttpRequest) -> HttpResponse:
        """Show newly issued secrets once, and a new owner's set-password link; a reload finds them gone."""
        issued = request.session.pop(ISSUED_SESSION_KEY, [])
        context = {
            **self.admin_site.each_context(request),
            "title": "New API keys",
            "issued": issued,
            "new_owner": self._new_owner(request),
            "opts": self.model._meta,
        }
        return render(request, "admin/tenancy/issued_keys.html", context)

    def _new_owner(self, request: HttpRequest) -> dict | None:
        remembered = request.session.pop(NEW_OWNER_SESSION_KEY, None)
        user = User.objects.filter(pk=(remembered or {}).get("user_id")).first()
        if user is None or user.has_usable_password():  # gone, or chose a password already
            return None
        return {
            "username": user.get_username(),
            "url": services.set_password_url(user=user, site_url=request.build_absolute_uri("/")),
            "lifetime": services.set_password_link_lifetime(),
            "emailed_to": remembered["emailed_to"],
        }

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise admin.sites.PermissionDenied
        form = ApiKeyAdminForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                issued = services.key_create(
                    tenant=data["tenant"],
                    name=data["name"],
                    team=data["team"],
                    user=data["user"],
                    allowed_models=data["allowed_models"],
                    allowed_endpoints=data["allowed_endpoints"],
                    expires_at=data["expires_at"],
                    created_by=request.user,
                )
            except services.TenancyError as error:
                form.add_error(None, str(error))
            else:
                self.log_addition(request, issued.key, "Issued")
                remember_issued(request, [issued])
                return HttpResponseRedirect(issued_keys_url())
        return form_page(request, self, form, title="Issue an API key", submit_label="Issue key")

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        credential_cache.forget_keys([obj.key_hash])

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return confirm_action(
                request,
                self,
                queryset,
                action="revoke_keys",
                label="Yes, revoke",
                question="These keys will stop working at once, on every instance. This cannot be undone.",
            )
        for key in queryset:
            services.key_revoke(key=key, by=request.user)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)
        return None

    @admin.action(description="Rotate selected keys", permissions=["change"])
    def rotate_keys(self, request, queryset):
        form = RotateKeysForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if not form.is_bound or not form.is_valid():
            return confirm_action(
                request,
                self,
                queryset,
                action="rotate_keys",
                label="Rotate",
                form=form,
                question="Each key gets a successor with the same scopes; the old key works on for the grace period.",
            )
        grace = timedelta(seconds=form.cleaned_data["grace_seconds"])
        issued, failures = [], []
        for key in queryset.select_related("tenant"):
            try:
                issued.append(services.key_rotate(key=key, grace=grace, created_by=request.user))
            except services.TenancyError as error:
                failures.append(str(error))
        for failure in failures:
            self.message_user(request, failure, messages.ERROR)
        if not issued:
            return None
        remember_issued(request, issued)
        return HttpResponseRedirect(issued_keys_url())


# --- users: edits drop the user's cached JWT identities --------------------------------------------

admin.site.unregister(User)


@admin.register(User)
class CatalystUserAdmin(AuditedAdmin, UserAdmin):
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        credential_cache.forget_user(obj)

    def delete_model(self, request, obj) -> None:
        services.user_delete(user=obj, by=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for user in queryset:
            services.user_delete(user=user, by=request.user)


# --- the identity models other packages register: staff changes to them are audited too -----------

admin.site.unregister(Group)
admin.site.unregister(TOTPDevice)


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    pass


@admin.register(TOTPDevice)
class AuditedTOTPDeviceAdmin(AuditedAdmin, TOTPDeviceAdmin):
    pass
