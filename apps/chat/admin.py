"""Conversations in the admin: read them (support, compliance) and stop an answer being written."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib import admin, messages

from apps.audit.admin_log import AuditedAdmin

from .answers import group_name
from .models import Conversation, Message, MessageStatus


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("role", "status", "content", "model", "tokens_in", "tokens_out", "cost_usd", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(AuditedAdmin):
    list_display = ("title", "tenant", "user", "model", "updated_at")
    list_filter = ("tenant",)
    list_select_related = ("tenant", "user")
    search_fields = ("title", "tenant__slug", "user__username")
    readonly_fields = ("tenant", "user", "model", "summary", "summary_through", "created_at", "updated_at")
    fields = ("title", *readonly_fields)
    inlines = [MessageInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(AuditedAdmin):
    list_display = ("client_id", "role", "status", "tenant", "model", "tokens_out", "cost_usd", "created_at")
    list_filter = ("status", "role", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("client_id", "request_id")
    actions = ["stop_answers"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_stop_permission(self, request) -> bool:
        return request.user.has_perm("chat.change_message")

    @admin.action(description="Stop the selected answers that are still being written", permissions=["stop"])
    def stop_answers(self, request, queryset) -> None:
        layer = get_channel_layer()
        streaming = queryset.filter(role="assistant", status=MessageStatus.STREAMING)
        for message in streaming:
            group = group_name(message.tenant_id, message.user_id, message.client_id)
            async_to_sync(layer.group_send)(group, {"type": "answer.cancel"})
        self.message_user(request, f"Asked {len(streaming)} answer(s) to stop.", messages.SUCCESS)
