"""The catalogue in the admin. Every write bumps the catalogue version so all processes reload."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count

from apps.audit.admin_log import AuditedAdmin

from .models import ChainLink, FallbackChain, LlmModel, ModelPrice, Provider
from .snapshot import catalogue_changed


class ReloadsCatalogue:
    """Mixin: saving or deleting through the admin publishes a new catalogue version."""

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        catalogue_changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        catalogue_changed()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        catalogue_changed()


@admin.register(Provider)
class ProviderAdmin(ReloadsCatalogue, AuditedAdmin):
    list_display = ("name", "kind", "base_url", "api_key_env", "timeout_seconds", "model_count", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "base_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(model_count=Count("models"))

    @admin.display(ordering="model_count", description="models")
    def model_count(self, provider: Provider) -> int:
        return provider.model_count


class ModelPriceInline(admin.TabularInline):
    model = ModelPrice
    extra = 0
    verbose_name = "scheduled price change"


@admin.register(LlmModel)
class LlmModelAdmin(ReloadsCatalogue, AuditedAdmin):
    inlines = [ModelPriceInline]
    list_display = (
        "name", "provider", "upstream_name", "kind", "price_input", "price_output", "quality",
        "fallback_chain", "enabled",
    )  # fmt: skip
    list_filter = ("kind", "enabled", "provider", "tiers")
    list_select_related = ("provider", "fallback_chain")
    search_fields = ("name", "upstream_name")
    filter_horizontal = ("tiers",)
    actions = ["enable_models", "disable_models"]

    @admin.action(description="Enable selected models", permissions=["change"])
    def enable_models(self, request, queryset) -> None:
        updated = queryset.update(enabled=True)
        catalogue_changed()
        self.message_user(request, f"Enabled {updated} model(s).", messages.SUCCESS)

    @admin.action(description="Disable selected models", permissions=["change"])
    def disable_models(self, request, queryset) -> None:
        updated = queryset.update(enabled=False)
        catalogue_changed()
        self.message_user(request, f"Disabled {updated} model(s); requests for them now answer 400.", messages.SUCCESS)


class ChainLinkInline(admin.TabularInline):
    model = ChainLink
    extra = 1
    autocomplete_fields = ("model",)
    ordering = ("position",)


@admin.register(FallbackChain)
class FallbackChainAdmin(ReloadsCatalogue, AuditedAdmin):
    list_display = ("name", "description", "models_in_order")
    search_fields = ("name",)
    inlines = [ChainLinkInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("links__model")

    @admin.display(description="models, in order")
    def models_in_order(self, chain: FallbackChain) -> str:
        return " → ".join(link.model.name for link in chain.links.all())
