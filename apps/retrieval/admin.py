"""Files and vector stores in the admin: staff see every tenant's stores, files and how their
ingestion went (status, chunks, the error of a failed one), and may delete one (audited; its
chunks and, for a file, its bytes go with it). Nothing is added or edited by hand: tenants
upload through the API."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from apps.audit.admin_log import AuditedAdmin

from . import files
from .models import StoredFile, VectorStore, VectorStoreFile


class ReadOnly(AuditedAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AttachmentInline(admin.TabularInline):
    model = VectorStoreFile
    fields = readonly_fields = ("file", "status", "chunks", "usage_bytes", "error_code", "error_message", "created_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(VectorStore)
class VectorStoreAdmin(ReadOnly):
    list_display = ("public_id", "name", "tenant", "file_count", "last_active_at", "created_at")
    list_filter = ("tenant",)
    list_select_related = ("tenant",)
    search_fields = ("=public_id", "name", "tenant__slug")
    fields = readonly_fields = ("public_id", "tenant", "name", "metadata", "expires_after_days", "last_active_at",
                                "created_at")  # fmt: skip
    inlines = (AttachmentInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(file_total=Count("files"))

    @admin.display(description="files", ordering="file_total")
    def file_count(self, store) -> int:
        return store.file_total


@admin.register(VectorStoreFile)
class VectorStoreFileAdmin(ReadOnly):
    list_display = ("file", "store", "tenant", "status", "chunks", "usage_bytes", "error_code", "created_at")
    list_filter = ("status", "tenant")
    list_select_related = ("file", "store", "tenant")
    search_fields = ("=file__public_id", "=store__public_id", "file__filename", "tenant__slug")
    fields = readonly_fields = ("tenant", "store", "file", "status", "error_code", "error_message", "attributes",
                                "max_chunk_tokens", "overlap_tokens", "chunks", "space", "usage_bytes",
                                "created_at")  # fmt: skip


@admin.register(StoredFile)
class StoredFileAdmin(ReadOnly):
    list_display = ("public_id", "filename", "tenant", "purpose", "bytes", "status", "created_at")
    list_filter = ("purpose", "status", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("=public_id", "filename", "tenant__slug", "=sha256")
    fields = readonly_fields = ("public_id", "tenant", "filename", "purpose", "bytes", "content_type", "sha256",
                                "status", "key_id", "user_id", "created_at", "expires_at")  # fmt: skip
    date_hierarchy = "created_at"

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        files.delete(obj.storage_name)

    def delete_queryset(self, request, queryset) -> None:
        names = list(queryset.values_list("storage_name", flat=True))
        super().delete_queryset(request, queryset)
        for name in names:
            files.delete(name)
