"""Authenticate a request's credential into a Principal, then authorise endpoint and model.

API keys are found by their visible prefix and compared in constant time; an unknown prefix
costs the same work as a wrong secret. JWTs are verified, then the subject's membership in the
tenant is checked. Both paths are served from the credential cache in steady state.

Failed attempts are counted per client address: past AUTH_FAILURES_PER_MINUTE, that address gets
429 before any database lookup, so guessing keys costs the guesser, not the database.
"""

from __future__ import annotations

import dataclasses
import hmac
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from apps.core.db import refresh_connections
from apps.core.error_codes import ErrorCode
from apps.core.errors import AuthenticationFailed, PermissionDenied, RateLimited
from apps.core.redis.hotstore import hot_store

from . import credential_cache, keys, tokens
from .models import ApiKey, Membership, TenantStatus
from .principal import Limits, Principal

INVALID_KEY_MESSAGE = "Invalid API key."


def credential_from_headers(authorization: str | None, x_api_key: str | None = None) -> str:
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed(
                "Use 'Authorization: Bearer <API key or token>'.", code=ErrorCode.MALFORMED_CREDENTIALS
            )
        return value.strip()
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()
    raise AuthenticationFailed("No credentials were provided.", code=ErrorCode.MISSING_CREDENTIALS)


async def authenticate(credential: str, client: str | None = None) -> Principal:
    """The principal a credential stands for; `client` is the caller's address, for throttling."""
    try:
        if keys.looks_like_key(credential):
            return await _authenticate_key(credential, client)
        if tokens.looks_like_jwt(credential):
            return await _authenticate_token(credential, client)
        raise AuthenticationFailed("The credential is not an API key or a token.", code=ErrorCode.MALFORMED_CREDENTIALS)
    except AuthenticationFailed:
        await _count_failure(client)
        raise


def _failures_entry(client: str) -> str:
    return f"authfail:{client}"


async def _count_failure(client: str | None) -> None:
    if client is None:
        return
    failures = await hot_store().incr(_failures_entry(client), 60)
    if failures > settings.AUTH_FAILURES_PER_MINUTE:
        raise _throttled()


async def _refuse_if_throttled(client: str | None) -> None:
    """Before a database lookup for a credential the cache does not know."""
    if client is None:
        return
    failures = await hot_store().get(_failures_entry(client))
    if failures is not None and int(failures) >= settings.AUTH_FAILURES_PER_MINUTE:
        raise _throttled()


def _throttled() -> RateLimited:
    return RateLimited(
        "Too many failed authentication attempts from this address; retry in a minute.",
        code=ErrorCode.AUTHENTICATION_THROTTLED, headers={"Retry-After": "60"},
    )  # fmt: skip


def authorize(principal: Principal, *, endpoint: str, model: str | None = None) -> None:
    if not principal.may_call(endpoint):
        raise PermissionDenied(f"This key may not call the {endpoint} endpoint.", code=ErrorCode.ENDPOINT_NOT_ALLOWED)
    if model is not None and not principal.may_use_model(model):
        raise PermissionDenied(
            f"This key may not use the model '{model}'.", code=ErrorCode.MODEL_NOT_ALLOWED, param="model"
        )


# --- API keys ---------------------------------------------------------------------------------


def _load_key_record(prefix: str, digest: str) -> dict:
    refresh_connections()
    key = ApiKey.objects.select_related("tenant__tier", "user").filter(prefix=prefix).first()
    matches = hmac.compare_digest(key.key_hash if key else keys.DUMMY_HASH, digest)
    if key is None or not matches:
        return credential_cache.ABSENT
    tenant = key.tenant
    return {
        "hash": key.key_hash,
        "key_id": key.pk,
        "prefix": key.prefix,
        "tenant_id": tenant.pk,
        "tenant_slug": tenant.slug,
        "tenant_active": tenant.status == TenantStatus.ACTIVE,
        "tier": tenant.tier.name,
        "team_id": key.team_id,
        "user_id": key.user_id,
        "allowed_models": list(key.allowed_models),
        "allowed_endpoints": list(key.allowed_endpoints),
        "expires_at": key.expires_at.timestamp() if key.expires_at else None,
        "revoked": key.revoked_at is not None,
        "user_active": key.user is None or key.user.is_active,
        "keep_prompts": tenant.keep_prompts,
        "allowed_origins": list(tenant.allowed_origins or ()),
        "embedding_model": tenant.embedding_model,
        "limits": {
            **tenant.effective_limits(),
            "own_requests_per_minute": key.requests_per_minute,
            "own_tokens_per_minute": key.tokens_per_minute,
        },
    }


async def _authenticate_key(credential: str, client: str | None) -> Principal:
    if not keys.is_well_formed(credential):
        raise AuthenticationFailed(INVALID_KEY_MESSAGE, code=ErrorCode.INVALID_API_KEY)
    digest = keys.hash_key(credential)
    entry = credential_cache.key_entry(digest)
    record = await credential_cache.read_through(
        entry, _load_key_record, keys.prefix_of(credential), digest, before_load=lambda: _refuse_if_throttled(client)
    )
    if not record or not hmac.compare_digest(record["hash"], digest):
        raise AuthenticationFailed(INVALID_KEY_MESSAGE, code=ErrorCode.INVALID_API_KEY)
    if record["revoked"]:
        raise AuthenticationFailed("This API key has been revoked.", code=ErrorCode.REVOKED_API_KEY)
    if not record["user_active"]:
        raise AuthenticationFailed("The user this API key belongs to is deactivated.", code=ErrorCode.INACTIVE_USER)
    if record["expires_at"] is not None and record["expires_at"] <= time.time():
        raise AuthenticationFailed("This API key has expired.", code=ErrorCode.EXPIRED_API_KEY)
    if not record["tenant_active"]:
        raise PermissionDenied("The tenant is suspended.", code=ErrorCode.TENANT_SUSPENDED)
    await _note_key_use(record["key_id"])
    return Principal(
        tenant_id=record["tenant_id"],
        tenant_slug=record["tenant_slug"],
        tier=record["tier"],
        method="api_key",
        key_id=record["key_id"],
        key_prefix=record["prefix"],
        team_id=record["team_id"],
        user_id=record["user_id"],
        allowed_models=tuple(record["allowed_models"]),
        allowed_endpoints=tuple(record["allowed_endpoints"]),
        limits=Limits(**record["limits"]),
        keep_prompts=record.get("keep_prompts", False),
        expires_at=record["expires_at"] if record["expires_at"] is not None else float("inf"),
        allowed_origins=tuple(record.get("allowed_origins", ())),
        embedding_model=record.get("embedding_model", ""),
    )


def _record_key_use(key_id: int) -> None:
    refresh_connections()
    ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


_noted_at: dict[int, float] = {}  # per process: when this process last asked the hot store


async def _note_key_use(key_id: int) -> None:
    """Write last-used at most once per resolution window per key, not on every request.

    The hot store decides which request (of all instances) writes; each process asks it at most
    twice per window, so steady traffic costs no round trip for this.
    """
    window = settings.KEY_LAST_USED_RESOLUTION_SECONDS
    now = time.monotonic()
    if now - _noted_at.get(key_id, -window) < window / 2:
        return
    _noted_at[key_id] = now
    if await hot_store().add(credential_cache.key_used_entry(key_id), "1", window):
        await sync_to_async(_record_key_use)(key_id)


# --- JWTs ---------------------------------------------------------------------------------------


def _load_member_record(tenant_slug: str, user_id: int) -> dict:
    refresh_connections()
    membership = (
        Membership.objects.select_related("tenant__tier", "user")
        .filter(tenant__slug=tenant_slug, user_id=user_id, user__is_active=True)
        .first()
    )
    if membership is None:
        return credential_cache.ABSENT
    tenant = membership.tenant
    return {
        "tenant_id": tenant.pk,
        "tenant_slug": tenant.slug,
        "tenant_active": tenant.status == TenantStatus.ACTIVE,
        "tier": tenant.tier.name,
        "team_id": membership.team_id,
        "user_id": user_id,
        "role": membership.role,
        "keep_prompts": tenant.keep_prompts,
        "allowed_origins": list(tenant.allowed_origins or ()),
        "embedding_model": tenant.embedding_model,
        "limits": tenant.effective_limits(),
    }


async def _authenticate_token(credential: str, client: str | None) -> Principal:
    claims = tokens.decode_token(credential)
    principal = await member_principal(claims["tenant"], int(claims["sub"]), client)
    return dataclasses.replace(principal, expires_at=float(claims["exp"]))


async def member_principal(tenant_slug: str, user_id: int, client: str | None = None) -> Principal:
    """The principal of a tenant member, as of now (a long-lived chat connection asks per message,
    so a suspension or a removed membership takes effect at once)."""
    entry = credential_cache.member_entry(tenant_slug, user_id)
    record = await credential_cache.read_through(
        entry, _load_member_record, tenant_slug, user_id, before_load=lambda: _refuse_if_throttled(client)
    )
    if not record:
        raise AuthenticationFailed("The token's subject is not a member of its tenant.", code=ErrorCode.INVALID_TOKEN)
    if not record["tenant_active"]:
        raise PermissionDenied("The tenant is suspended.", code=ErrorCode.TENANT_SUSPENDED)
    return Principal(
        tenant_id=record["tenant_id"],
        tenant_slug=record["tenant_slug"],
        tier=record["tier"],
        method="jwt",
        team_id=record["team_id"],
        user_id=record["user_id"],
        role=record["role"],
        limits=Limits(**record["limits"]),
        keep_prompts=record.get("keep_prompts", False),
        allowed_origins=tuple(record.get("allowed_origins", ())),
        embedding_model=record.get("embedding_model", ""),
    )
