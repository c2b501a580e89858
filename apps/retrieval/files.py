"""Files' bytes in Django's storage. A stored name is made by Catalyst (`<tenant id>/<file id>`);
nothing a client sends becomes part of a path."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import storages


def save(tenant_id: int, public_id: str, data: bytes) -> tuple[str, str]:
    """Store `data`; returns its storage name and SHA-256."""
    name = storages["default"].save(f"{int(tenant_id)}/{public_id}", ContentFile(data))
    return name, hashlib.sha256(data).hexdigest()


def read(name: str) -> bytes:
    with storages["default"].open(name, "rb") as stored:
        return stored.read()


def delete(name: str) -> None:
    storages["default"].delete(name)
