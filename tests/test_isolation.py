"""Tenant isolation: an owner and a teammate see their tenant; an outsider sees nothing of it."""

from apps.tenancy import selectors, services
from apps.tenancy.models import Role
from apps.tenancy.tokens import issue_token


def test_owner_and_teammate_tokens_resolve_to_their_tenant(world, api):
    for user, role in ((world.owner, "owner"), (world.teammate, "member")):
        body = api.get("/v1/me", issue_token(user_id=user.pk, tenant_slug="acme")).json()
        assert (body["tenant"], body["auth"], body["user_id"], body["role"]) == ("acme", "jwt", user.pk, role)


def test_an_outsiders_token_for_another_tenant_is_refused(world, api):
    token = issue_token(user_id=world.outsider.pk, tenant_slug="acme")

    response = api.get("/v1/me", token)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert "acme" not in response.content.decode()


def test_a_key_only_ever_speaks_for_its_own_tenant(world, api):
    acme = api.get("/v1/me", world.acme_key, **{"x-tenant-id": "globex"}).json()
    globex = api.get("/v1/me", world.globex_key, **{"x-tenant-id": "acme"}).json()

    assert acme["tenant"] == "acme"
    assert globex["tenant"] == "globex"


def test_selectors_return_no_row_of_another_tenant(world):
    services.key_create(tenant=world.globex, name="globex second key")

    acme_keys = selectors.tenant_api_keys(world.acme)
    acme_members = selectors.tenant_members(world.acme)
    acme_teams = selectors.tenant_teams(world.acme)

    assert {k.tenant_id for k in acme_keys} == {world.acme.pk}
    assert acme_keys.count() == 1
    assert {m.user.username for m in acme_members} == {"alice", "bob"}
    assert {t.tenant_id for t in acme_teams} == {world.acme.pk}
    assert list(selectors.user_tenants(world.outsider)) == [world.globex]
    assert selectors.membership_of(world.outsider, world.acme) is None


def test_a_membership_granted_later_takes_effect_at_once(world, api):
    token = issue_token(user_id=world.outsider.pk, tenant_slug="acme")
    assert api.get("/v1/me", token).status_code == 401  # also caches the negative answer

    services.membership_add(tenant=world.acme, user=world.outsider, role=Role.AUDITOR)

    body = api.get("/v1/me", token).json()
    assert (body["tenant"], body["role"]) == ("acme", "auditor")


def test_a_deactivated_user_loses_token_access_at_once(world, api):
    token = issue_token(user_id=world.teammate.pk, tenant_slug="acme")
    assert api.get("/v1/me", token).status_code == 200

    services.user_set_active(user=world.teammate, active=False)

    assert api.get("/v1/me", token).status_code == 401
    assert api.get("/v1/me", issue_token(user_id=world.owner.pk, tenant_slug="acme")).status_code == 200
