"""JWTs for chat and service accounts: issue and verify (PyJWT; HS256 by default, RS256 supported)."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from pathlib import Path

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.core.error_codes import ErrorCode
from apps.core.errors import AuthenticationFailed

SUPPORTED_ALGORITHMS = ("HS256", "RS256")
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_LEEWAY_SECONDS = 5
MAX_USER_ID = 2**63 - 1


def _pem(value: str) -> str:
    """Accept a PEM either inline or as a path to a file holding it."""
    if value.lstrip().startswith("-----BEGIN"):
        return value.replace("\\n", "\n")
    return Path(value).read_text()


@lru_cache(maxsize=1)
def _keys() -> tuple[str, object, object]:
    algorithm = settings.JWT_ALGORITHM
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ImproperlyConfigured(f"JWT_ALGORITHM must be one of {SUPPORTED_ALGORITHMS}, not {algorithm!r}.")
    if algorithm == "HS256":
        secret = settings.JWT_SIGNING_KEY or settings.SECRET_KEY
        return algorithm, secret, secret
    if not settings.JWT_PUBLIC_KEY:
        raise ImproperlyConfigured("RS256 needs JWT_PUBLIC_KEY (and JWT_PRIVATE_KEY where tokens are issued).")
    private = _pem(settings.JWT_PRIVATE_KEY) if settings.JWT_PRIVATE_KEY else None
    return algorithm, private, _pem(settings.JWT_PUBLIC_KEY)


def reset_key_cache() -> None:
    _keys.cache_clear()


def looks_like_jwt(credential: str) -> bool:
    return bool(_JWT_SHAPE.fullmatch(credential))


class LifetimeTooLong(ValueError):
    """A token was asked for a lifetime past JWT_MAX_TTL_SECONDS."""


def issue_token(*, user_id: int, tenant_slug: str, ttl_seconds: int | None = None) -> str:
    algorithm, signing_key, _ = _keys()
    if signing_key is None:
        raise ImproperlyConfigured("JWT_PRIVATE_KEY is not set on this instance; it cannot issue RS256 tokens.")
    if ttl_seconds is not None and ttl_seconds > settings.JWT_MAX_TTL_SECONDS:
        raise LifetimeTooLong(f"A token lives at most {settings.JWT_MAX_TTL_SECONDS} s (JWT_MAX_TTL_SECONDS).")
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "tenant": tenant_slug,
        "aud": settings.JWT_AUDIENCE,
        "iat": now,
        "exp": now + (ttl_seconds or settings.JWT_TTL_SECONDS),
    }
    if settings.JWT_ISSUER:
        claims["iss"] = settings.JWT_ISSUER
    return jwt.encode(claims, signing_key, algorithm=algorithm)


def decode_token(token: str) -> dict:
    """Verified claims, or AuthenticationFailed. Only the configured algorithm is accepted."""
    algorithm, _, verifying_key = _keys()
    try:
        claims = jwt.decode(
            token,
            verifying_key,
            algorithms=[algorithm],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER or None,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "aud", "tenant"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("The token has expired.", code=ErrorCode.EXPIRED_TOKEN) from None
    except jwt.PyJWTError:
        raise AuthenticationFailed("The token is invalid.", code=ErrorCode.INVALID_TOKEN) from None
    if not isinstance(claims["tenant"], str) or not _is_user_id(claims["sub"]):
        raise AuthenticationFailed("The token is invalid.", code=ErrorCode.INVALID_TOKEN)
    if claims["exp"] - claims["iat"] > settings.JWT_MAX_TTL_SECONDS:
        raise AuthenticationFailed(
            f"The token lives longer than the {settings.JWT_MAX_TTL_SECONDS} s this deployment allows.",
            code=ErrorCode.INVALID_TOKEN,
        )
    return claims


def _is_user_id(subject: object) -> bool:
    """A user's primary key: digits that fit the database's 64-bit integer."""
    text = str(subject)
    return text.isascii() and text.isdigit() and int(text) <= MAX_USER_ID
