"""Every admin action (add, change, delete, custom actions that log) becomes an audit entry.

A single LogEntry is saved (post_save); several at once, as "Delete selected" writes them, are
bulk-created without signals, so the manager's `log_actions` is wrapped to record those too.
"""

from __future__ import annotations

from django.contrib.admin.models import LogEntry, LogEntryManager
from django.db.models.signals import post_save
from django.dispatch import receiver

from .trail import event, record_now

FLAGS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}


@receiver(post_save, sender=LogEntry, dispatch_uid="audit-admin-log-entry")
def admin_action_recorded(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if created:
        _record(instance)


_log_actions = LogEntryManager.log_actions


def _log_actions_audited(self, *args, **kwargs):
    logged = _log_actions(self, *args, **kwargs)
    if isinstance(logged, list) and len(logged) > 1:  # bulk-created: no post_save was sent
        for entry in logged:
            _record(entry)
    return logged


LogEntryManager.log_actions = _log_actions_audited


def _record(instance: LogEntry) -> None:
    model = instance.content_type.model_class() if instance.content_type else None
    # A chat object's name is a user's words (a conversation is titled by its first prompt).
    name = "" if model is not None and model._meta.app_label == "chat" else instance.object_repr
    record_now(
        event(
            FLAGS.get(instance.action_flag, "admin.action"),
            actor_type="staff",
            actor=instance.user.get_username(),
            object_type=model._meta.label if model is not None else "",
            object_id=instance.object_id or "",
            payload={"object": name, "change": instance.get_change_message()},
        )
    )
