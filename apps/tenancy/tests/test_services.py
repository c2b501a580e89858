"""Onboarding, key and membership services: what they create and what they refuse."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.tenancy import keys, services
from apps.tenancy.models import ApiKey, KeyStatus, Membership, Role, Team, Tenant, Tier


def test_the_default_tiers_are_seeded_from_the_spec(db):
    rows = list(
        Tier.objects.values_list(
            "name", "requests_per_minute", "requests_per_hour", "tokens_per_minute",
            "concurrent_streams", "tokens_per_month",
        ).order_by("requests_per_minute")
    )  # fmt: skip
    assert rows == [
        ("free", 10, 100, 20_000, 1, 100_000),
        ("professional", 30, 500, 100_000, 3, 1_000_000),
        ("enterprise", 60, 2_000, 400_000, 10, 10_000_000),
        ("unlimited", 120, None, None, 25, None),
    ]


def test_onboarding_creates_tenant_team_owner_and_one_key(db):
    result = services.tenant_onboard(
        slug="initech", name="Initech", tier="enterprise", owner_username="peter", monthly_budget_usd=Decimal("250.00")
    )

    tenant = Tenant.objects.get(slug="initech")
    assert tenant.tier.name == "enterprise"
    assert tenant.monthly_budget_usd == Decimal("250.00")
    assert list(Team.objects.filter(tenant=tenant).values_list("slug", flat=True)) == ["default"]
    membership = Membership.objects.get(tenant=tenant)
    assert (membership.user.username, membership.role, membership.team_id) == ("peter", Role.OWNER, result.team.pk)
    assert not membership.user.has_usable_password()
    key = ApiKey.objects.get(tenant=tenant)
    assert key.key_hash == keys.hash_key(result.issued.plaintext)
    assert result.issued.plaintext not in (key.prefix, key.key_hash, key.name)


def test_onboarding_refuses_a_duplicate_slug_and_leaves_nothing_behind(world):
    with pytest.raises(services.TenancyError, match="already exists"):
        services.tenant_onboard(slug="acme", name="Acme again", tier="free", owner_username="mallory")

    assert Tenant.objects.filter(slug="acme").count() == 1
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_onboarding_refuses_an_unknown_tier_or_a_bad_slug(db):
    with pytest.raises(services.TenancyError, match="Unknown tier 'gold'"):
        services.tenant_onboard(slug="hooli", name="Hooli", tier="gold")
    with pytest.raises(services.TenancyError, match="not a valid slug"):
        services.tenant_onboard(slug="Hooli Inc", name="Hooli", tier="free")

    assert not Tenant.objects.filter(slug="hooli").exists()


def test_a_key_cannot_be_bound_to_another_tenants_team_or_a_non_member(world):
    globex_team = Team.objects.get(tenant=world.globex)

    with pytest.raises(services.TenancyError, match="does not belong"):
        services.key_create(tenant=world.acme, name="x", team=globex_team)
    with pytest.raises(services.TenancyError, match="not a member"):
        services.key_create(tenant=world.acme, name="x", user=world.outsider)

    assert ApiKey.objects.filter(tenant=world.acme).count() == 1


def test_a_key_cannot_be_created_already_expired(world):
    with pytest.raises(services.TenancyError, match="past"):
        services.key_create(tenant=world.acme, name="x", expires_at=timezone.now() - timedelta(seconds=1))


def test_rotation_copies_scopes_and_refuses_a_second_rotation_or_a_revoked_key(world):
    original = services.key_create(
        tenant=world.acme,
        name="scoped",
        user=world.teammate,
        allowed_models=["gpt-4o-mini"],
        allowed_endpoints=["chat"],
    ).key

    successor = services.key_rotate(key=original, grace=timedelta(hours=1)).key

    original.refresh_from_db()
    assert (successor.allowed_models, successor.allowed_endpoints, successor.user) == (
        ["gpt-4o-mini"],
        ["chat"],
        world.teammate,
    )
    assert original.rotated_to == successor
    assert original.status == KeyStatus.ROTATING
    with pytest.raises(services.TenancyError, match="already been rotated"):
        services.key_rotate(key=original, grace=timedelta(hours=1))
    services.key_revoke(key=successor)
    with pytest.raises(services.TenancyError, match="revoked"):
        services.key_rotate(key=successor, grace=timedelta(hours=1))


def test_removing_a_member_revokes_the_keys_bound_to_them(world, api):
    issued = services.key_create(tenant=world.acme, name="bob's key", user=world.teammate)
    assert api.get("/v1/me", issued.plaintext).status_code == 200

    services.membership_remove(membership=Membership.objects.get(tenant=world.acme, user=world.teammate))

    assert api.get("/v1/me", issued.plaintext).json()["error"]["code"] == "revoked_api_key"
    assert api.get("/v1/me", world.acme_key).status_code == 200


@pytest.mark.parametrize(
    ("budget", "complaint"),
    [("0.001", "more than two decimals"), ("12.345", "more than two decimals"), ("-1", "positive amount"),
     ("NaN", "positive amount"), ("10000000000", "at most")],
)  # fmt: skip
def test_a_budget_finer_than_a_cent_or_out_of_range_is_refused_not_rounded(db, budget, complaint):
    with pytest.raises(services.TenancyError, match=complaint):
        services.tenant_onboard(slug="fine", name="Fine", tier="free", monthly_budget_usd=Decimal(budget))

    assert not Tenant.objects.filter(slug="fine").exists()


def test_a_budget_in_dollars_and_cents_is_kept_exactly(db):
    tenant = services.tenant_onboard(slug="cents", name="Cents", tier="free", monthly_budget_usd=Decimal("0.10")).tenant
    assert Tenant.objects.get(pk=tenant.pk).monthly_budget_usd == Decimal("0.10")
