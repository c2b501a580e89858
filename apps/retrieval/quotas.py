"""The tier's retrieval quotas of a tenant: files, bytes of files, chunks (empty: unlimited)."""

from __future__ import annotations

from django.db.models import Count, Sum

from apps.core.error_codes import ErrorCode
from apps.core.errors import PermissionDenied
from apps.tenancy.models import Tier

from .models import Chunk, StoredFile


class QuotaExceeded(PermissionDenied):
    default_code = ErrorCode.QUOTA_EXCEEDED


def check_upload(tenant_id: int, tier: Tier, size: int) -> None:
    if tier.max_files is None and tier.max_file_bytes is None:
        return
    held = StoredFile.objects.filter(tenant_id=tenant_id).aggregate(files=Count("pk"), bytes=Sum("bytes"))
    if tier.max_files is not None and held["files"] + 1 > tier.max_files:
        raise QuotaExceeded(f"The tenant holds {held['files']} files, the most its tier ({tier}) allows.")
    if tier.max_file_bytes is not None and (held["bytes"] or 0) + size > tier.max_file_bytes:
        raise QuotaExceeded(
            f"This file would take the tenant's files past {tier.max_file_bytes} bytes, its tier's ({tier}) quota."
        )


def chunks_left(tenant_id: int, tier: Tier) -> int | None:
    if tier.max_chunks is None:
        return None
    return max(0, tier.max_chunks - Chunk.objects.filter(tenant_id=tenant_id).count())
