"""Every admin action (add, change, delete, custom actions that log) becomes an audit entry."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from .trail import event, record_now

FLAGS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}


@receiver(post_save, sender=LogEntry, dispatch_uid="audit-admin-log-entry")
def admin_action_recorded(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created:
        return
    record_now(
        event(
            FLAGS.get(instance.action_flag, "admin.action"),
            actor_type="staff",
            actor=instance.user.get_username(),
            object_type=instance.content_type.model_class()._meta.label if instance.content_type else "",
            object_id=instance.object_id or "",
            payload={"object": instance.object_repr, "change": instance.get_change_message()},
        )
    )
