"""Writes for tenancy and identity: onboarding, keys, memberships, tenant status.

Every service that changes what a credential may do drops the cached credentials it affects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify
from django.utils.timesince import timeuntil

from apps.audit.trail import record_change

from . import credential_cache, keys
from .models import ApiKey, KeyStatus, Membership, Role, Team, Tenant, TenantStatus, Tier

User = get_user_model()


class TenancyError(Exception):
    """A request to change tenancy state that cannot be honoured; the message says why."""


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str  # shown once, never stored


@dataclass(frozen=True)
class Onboarding:
    tenant: Tenant
    team: Team
    owner: Membership | None
    issued: IssuedKey
    owner_created: bool = False  # a new user, without a password: they need a set-password link


# --- keys ---------------------------------------------------------------------------------------


def _check_scope_owner(tenant: Tenant, team: Team | None, user: AbstractBaseUser | None) -> None:
    if team is not None and team.tenant_id != tenant.pk:
        raise TenancyError(f"Team {team} does not belong to tenant {tenant.slug}.")
    if user is not None and not Membership.objects.filter(tenant=tenant, user=user).exists():
        raise TenancyError(f"User {user} is not a member of tenant {tenant.slug}.")


def key_create(
    *,
    tenant: Tenant,
    name: str,
    team: Team | None = None,
    user: AbstractBaseUser | None = None,
    allowed_models: list[str] | tuple[str, ...] = (),
    allowed_endpoints: list[str] | tuple[str, ...] = (),
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    expires_at=None,
    created_by: AbstractBaseUser | None = None,
) -> IssuedKey:
    _check_scope_owner(tenant, team, user)
    if expires_at is not None and expires_at <= timezone.now():
        raise TenancyError("A new key cannot expire in the past.")
    for _ in range(5):  # the 8-character id space is large; a clash is rare and retried
        generated = keys.generate_key()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    tenant=tenant,
                    name=name,
                    prefix=generated.prefix,
                    key_hash=generated.key_hash,
                    team=team,
                    user=user,
                    allowed_models=sorted(set(allowed_models)),
                    allowed_endpoints=sorted(set(allowed_endpoints)),
                    requests_per_minute=requests_per_minute,
                    tokens_per_minute=tokens_per_minute,
                    expires_at=expires_at,
                    created_by=created_by,
                )
                record_change("key.create", tenant=tenant, obj=key, payload=_key_facts(key), by=created_by)
        except IntegrityError:
            continue
        return IssuedKey(key=key, plaintext=generated.plaintext)
    raise TenancyError("Could not allocate a unique key prefix; try again.")


@transaction.atomic
def key_revoke(*, key: ApiKey, by: AbstractBaseUser | None = None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_change("key.revoke", tenant=key.tenant, obj=key, payload=_key_facts(key), by=by)
    credential_cache.forget_keys([key.key_hash])
    return key


def _key_facts(key: ApiKey) -> dict:
    """What the audit trail keeps of a key: never its secret or its hash."""
    return {
        "prefix": key.prefix, "name": key.name, "team_id": key.team_id, "user_id": key.user_id,
        "allowed_models": key.allowed_models, "allowed_endpoints": key.allowed_endpoints,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }  # fmt: skip


@transaction.atomic
def key_rotate(*, key: ApiKey, grace: timedelta, created_by: AbstractBaseUser | None = None) -> IssuedKey:
    """Issue a successor with the same scopes; the old key keeps working for `grace`, then expires."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    now = timezone.now()
    if key.status_at(now) in (KeyStatus.REVOKED, KeyStatus.EXPIRED):
        raise TenancyError(f"Key {key.prefix} is {key.status_at(now).label.lower()}; only a usable key can be rotated.")
    if key.rotated_to_id is not None:
        raise TenancyError(f"Key {key.prefix} has already been rotated.")
    if grace < timedelta(0):
        raise TenancyError("The grace period cannot be negative.")
    issued = key_create(
        tenant=key.tenant,
        name=key.name,
        team=key.team,
        user=key.user,
        allowed_models=key.allowed_models,
        allowed_endpoints=key.allowed_endpoints,
        requests_per_minute=key.requests_per_minute,
        tokens_per_minute=key.tokens_per_minute,
        expires_at=key.expires_at if key.expires_at and key.expires_at > now else None,
        created_by=created_by,
    )
    grace_end = now + grace
    key.expires_at = min(key.expires_at, grace_end) if key.expires_at else grace_end
    key.rotated_to = issued.key
    key.save(update_fields=["expires_at", "rotated_to"])
    payload = {**_key_facts(key), "successor": issued.key.prefix}
    record_change("key.rotate", tenant=key.tenant, obj=key, payload=payload, by=created_by)
    credential_cache.forget_keys([key.key_hash])
    return issued


# --- tenants ------------------------------------------------------------------------------------


@transaction.atomic
def tenant_set_status(*, tenant: Tenant, status: TenantStatus, by: AbstractBaseUser | None = None) -> Tenant:
    tenant.status = status
    tenant.save(update_fields=["status"])
    record_change("tenant.status", tenant=tenant, obj=tenant, payload={"status": status}, by=by)
    credential_cache.forget_tenant(tenant)
    return tenant


def tenant_saved(*, tenant: Tenant, by: AbstractBaseUser | None = None) -> None:
    """Call after any edit of a tenant (tier, status, budget): cached credentials carry them."""
    record_change("tenant.change", tenant=tenant, obj=tenant, payload=_tenant_facts(tenant), by=by)
    credential_cache.forget_tenant(tenant)


def _tenant_facts(tenant: Tenant) -> dict:
    return {
        "slug": tenant.slug, "tier": tenant.tier.name, "status": tenant.status,
        "monthly_budget_usd": str(tenant.monthly_budget_usd) if tenant.monthly_budget_usd is not None else None,
        "limits": tenant.effective_limits(), "embedding_model": tenant.embedding_model,
    }  # fmt: skip


@transaction.atomic
def tenant_delete(*, tenant: Tenant, by: AbstractBaseUser | None = None) -> None:
    """Delete a tenant with its teams, members and keys; its credentials stop working at once."""
    credential_cache.forget_tenant(tenant)  # before the cascade takes the keys and memberships with it
    record_change("tenant.delete", tenant=tenant, obj=tenant, payload={"slug": tenant.slug}, by=by)
    tenant.delete()


@transaction.atomic
def team_delete(*, team: Team, by: AbstractBaseUser | None = None) -> None:
    """Delete a team: its keys and members stay in the tenant, without a team."""
    credential_cache.forget_keys(team.api_keys.values_list("key_hash", flat=True))
    for membership in team.memberships.select_related("user"):
        credential_cache.forget_user(membership.user)
    record_change("team.delete", tenant=team.tenant, obj=team, payload={"slug": team.slug}, by=by)
    team.delete()


@transaction.atomic
def user_delete(*, user: AbstractBaseUser, by: AbstractBaseUser | None = None) -> None:
    """Delete a user: their tokens stop working at once, and so do the keys bound to them (revoked,
    not left behind as keys of the tenant with nobody behind them)."""
    credential_cache.forget_user(user)
    user.api_keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    record_change("user.delete", tenant=None, obj=user, payload={"user_id": user.pk}, by=by)
    user.delete()


@transaction.atomic
def membership_add(
    *, tenant: Tenant, user: AbstractBaseUser, role: Role = Role.MEMBER, team: Team | None = None
) -> Membership:
    if team is not None and team.tenant_id != tenant.pk:
        raise TenancyError(f"Team {team} does not belong to tenant {tenant.slug}.")
    membership, _ = Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role, "team": team})
    payload = {"user_id": user.pk, "role": role, "team_id": team.pk if team else None}
    record_change("membership.set", tenant=tenant, obj=membership, payload=payload)
    credential_cache.forget_user(user)
    return membership


@transaction.atomic
def user_set_active(*, user: AbstractBaseUser, active: bool) -> None:
    """Deactivating a user ends their tokens at once, in every tenant."""
    user.is_active = active
    user.save(update_fields=["is_active"])
    record_change("user.active" if active else "user.inactive", tenant=None, obj=user, payload={"user_id": user.pk})
    credential_cache.forget_user(user)


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    user = membership.user
    record_change("membership.remove", tenant=membership.tenant, obj=membership, payload={"user_id": user.pk})
    credential_cache.forget_user(user)  # while the membership still names the entry to drop
    membership.delete()
    # Keys bound to the departed user stop working with the membership.
    bound = ApiKey.objects.filter(tenant_id=membership.tenant_id, user=user)
    bound.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    credential_cache.forget_keys(bound.values_list("key_hash", flat=True))


MAX_BUDGET_USD = Decimal("9999999999.99")  # what the column holds (12 digits, 2 decimals)


def check_budget(amount: Decimal | None) -> None:
    """A budget is dollars and cents: never negative, never finer than a cent (the ledger would
    round 0.001 to a $0 cap and refuse every request), never more than the column holds."""
    if amount is None:
        return
    if not amount.is_finite() or amount < 0:
        raise TenancyError(f"A budget must be a positive amount of USD, not {amount}.")
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise TenancyError(f"A budget is in dollars and cents: {amount} has more than two decimals.")
    if amount > MAX_BUDGET_USD:
        raise TenancyError(f"A budget is at most {MAX_BUDGET_USD} USD.")


@transaction.atomic
def tenant_onboard(
    *,
    slug: str,
    name: str,
    tier: Tier | str,
    owner_username: str | None = None,
    owner_email: str = "",
    team_name: str = "Default",
    monthly_budget_usd: Decimal | None = None,
    key_name: str = "First key",
    created_by: AbstractBaseUser | None = None,
) -> Onboarding:
    """Create a tenant with its first team, optional owner and first API key, all or nothing."""
    if isinstance(tier, str):
        tier_obj = Tier.objects.filter(name=tier).first()
        if tier_obj is None:
            known = ", ".join(Tier.objects.values_list("name", flat=True))
            raise TenancyError(f"Unknown tier '{tier}'. Known tiers: {known}.")
        tier = tier_obj
    if slugify(slug) != slug:
        raise TenancyError(f"'{slug}' is not a valid slug: use lowercase letters, digits and hyphens.")
    check_budget(monthly_budget_usd)
    if Tenant.objects.filter(slug=slug).exists():
        raise TenancyError(f"A tenant with slug '{slug}' already exists.")
    tenant = Tenant.objects.create(slug=slug, name=name, tier=tier, monthly_budget_usd=monthly_budget_usd)
    record_change("tenant.create", tenant=tenant, obj=tenant, payload=_tenant_facts(tenant), by=created_by)
    team = Team.objects.create(tenant=tenant, slug=slugify(team_name) or "default", name=team_name)
    owner, owner_created = None, False
    if owner_username:
        user, owner_created = User.objects.get_or_create(username=owner_username, defaults={"email": owner_email})
        if owner_created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        owner = membership_add(tenant=tenant, user=user, role=Role.OWNER, team=team)
    issued = key_create(tenant=tenant, name=key_name, team=team, created_by=created_by)
    return Onboarding(tenant=tenant, team=team, owner=owner, issued=issued, owner_created=owner_created)


# --- a new owner's first password -----------------------------------------------------------------
# Only for owners that onboarding created: naming an existing user as owner must not hand whoever
# onboards a way into that account. The link is built when it is shown or sent, never stored or
# logged: it is as good as the password it sets until it is used or expires.


def set_password_url(*, user: AbstractBaseUser, site_url: str) -> str:
    """A link to choose a password: Django's password-reset token, which stops working once the
    password changes or after PASSWORD_RESET_TIMEOUT."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("set-password", kwargs={"uidb64": uidb64, "token": default_token_generator.make_token(user)})
    return site_url.rstrip("/") + path


def set_password_link_lifetime() -> str:
    """How long a set-password link works, in words ("3 days"), with plain spaces for mail and terminals."""
    now = timezone.now()
    return timeuntil(now + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT), now).replace("\xa0", " ")


def owner_invite_send(*, onboarding: Onboarding, site_url: str) -> bool:
    """E-mail the new owner a set-password link; False when they have no address. Mail errors
    (OSError) reach the caller: the tenant exists by then, and the link can be passed on by hand."""
    user = onboarding.owner.user
    if not user.email:
        return False
    url = set_password_url(user=user, site_url=site_url)
    login_url = site_url.rstrip("/") + reverse("login")
    body = (
        f"Hello {user.get_username()},\n\n"
        f"You are the owner of {onboarding.tenant.name} on Catalyst. Choose your password here; the link "
        f"works once, for {set_password_link_lifetime()}:\n\n{url}\n\nAfterwards you sign in at {login_url}\n"
    )
    send_mail("Choose your Catalyst password", body, None, [user.email])
    return True
