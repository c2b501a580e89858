"""API key format: `cat_<8-char id>_<40-char secret>`; only the SHA-256 of the whole key is kept.

The secret carries 238 bits of entropy, so a fast hash is as safe as a slow one and keeps
authentication cheap (docs/adr/0003-api-keys-and-credential-cache.md).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

SCHEME = "cat_"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 8
_SECRET_LENGTH = 40
_KEY_SHAPE = re.compile(r"cat_[a-z0-9]{8}_[A-Za-z0-9]{40}")

# Compared against when no key has the presented prefix, so a miss costs what a hit costs.
DUMMY_HASH = hashlib.sha256(b"catalyst: no key has this prefix").hexdigest()


@dataclass(frozen=True)
class GeneratedKey:
    plaintext: str
    prefix: str
    key_hash: str


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> GeneratedKey:
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(_SECRET_LENGTH))
    plaintext = f"{SCHEME}{key_id}_{secret}"
    return GeneratedKey(plaintext=plaintext, prefix=prefix_of(plaintext), key_hash=hash_key(plaintext))


def looks_like_key(credential: str) -> bool:
    return credential.startswith(SCHEME)


def is_well_formed(credential: str) -> bool:
    return bool(_KEY_SHAPE.fullmatch(credential))


def prefix_of(plaintext: str) -> str:
    """The visible part, `cat_<id>`: shown in lists and logs, used to find the stored record."""
    return plaintext[: len(SCHEME) + _ID_LENGTH]
