"""Staff changes made in the admin are audit entries, recorded where Django logs them.

Every ModelAdmin of the project inherits AuditedAdmin: its add, change and delete logging (one
object, or a bulk "Delete selected") appends the matching audit entries in the same transaction
as the change. No signal and no patched manager: the call is here, in plain sight.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import LogEntry

from .trail import event, record_now

FLAGS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}


class AuditedAdmin(admin.ModelAdmin):
    def log_addition(self, request, obj, message):
        return record_admin_entries(super().log_addition(request, obj, message))

    def log_change(self, request, obj, message):
        return record_admin_entries(super().log_change(request, obj, message))

    def log_deletions(self, request, queryset):
        return record_admin_entries(super().log_deletions(request, queryset))


def record_admin_entries(logged: LogEntry | list[LogEntry]) -> LogEntry | list[LogEntry]:
    for entry in logged if isinstance(logged, list) else [logged]:
        _record(entry)
    return logged


def _record(entry: LogEntry) -> None:
    model = entry.content_type.model_class() if entry.content_type else None
    # A chat object's name is a user's words (a conversation is titled by its first prompt).
    name = "" if model is not None and model._meta.app_label == "chat" else entry.object_repr
    record_now(
        event(
            FLAGS.get(entry.action_flag, "admin.action"),
            actor_type="staff",
            actor=entry.user.get_username(),
            object_type=model._meta.label if model is not None else "",
            object_id=entry.object_id or "",
            payload={"object": name, "change": entry.get_change_message()},
        )
    )
