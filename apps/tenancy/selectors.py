"""Reads for tenancy and identity. Everything that returns tenant data takes the tenant."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import ApiKey, Membership, Team, Tenant


def tenant_api_keys(tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("team", "user")


def tenant_members(tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user", "team")


def tenant_teams(tenant: Tenant) -> QuerySet[Team]:
    return Team.objects.filter(tenant=tenant)


def user_tenants(user: AbstractBaseUser) -> QuerySet[Tenant]:
    return Tenant.objects.filter(memberships__user=user)


def membership_of(user: AbstractBaseUser, tenant: Tenant) -> Membership | None:
    return Membership.objects.filter(tenant=tenant, user=user).select_related("team").first()
