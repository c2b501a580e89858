"""The key life cycle and every bad credential, through the REST API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.tenancy import authentication, keys, services
from apps.tenancy.models import ApiKey, TenantStatus
from apps.tenancy.principal import Principal


def _error(response) -> dict:
    return response.json()["error"]


def test_it_authenticates_a_key_as_its_tenant(world, api):
    response = api.get("/v1/me", world.acme_key)

    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == "acme"
    assert body["tier"] == "professional"
    assert body["auth"] == "api_key"
    assert body["key_prefix"] == keys.prefix_of(world.acme_key)
    assert world.acme_key not in response.content.decode()
    assert response["X-Request-Id"].startswith("req_")


def test_it_costs_no_database_query_once_the_key_is_cached(world, api):
    api.get("/v1/me", world.acme_key)

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert api.get("/v1/me", world.acme_key).status_code == 200

    assert len(queries) == 0


def test_it_records_last_use_without_writing_on_every_request(world, api):
    key = ApiKey.objects.get(prefix=keys.prefix_of(world.acme_key))
    assert key.last_used_at is None

    api.get("/v1/me", world.acme_key)
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        api.get("/v1/me", world.acme_key)
    key.refresh_from_db()
    assert key.last_used_at == first_use
    assert [q for q in queries if q["sql"].startswith("UPDATE")] == []


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_credentials"),
        ("Basic dXNlcjpwYXNz", "malformed_credentials"),
        ("Bearer", "malformed_credentials"),
        ("Bearer not-a-key-or-token", "malformed_credentials"),
        ("Bearer cat_abcdefgh_" + "A" * 40, "invalid_api_key"),
        ("Bearer cat_x' OR '1'='1", "invalid_api_key"),
        ("Bearer cat_abcdefgh_'; DROP TABLE tenancy_apikey; --", "invalid_api_key"),
        ("Bearer ' OR 1=1 --", "malformed_credentials"),
        ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "invalid_token"),
    ],
)
def test_it_refuses_bad_credentials_with_401(world, api, header, code):
    headers = {"authorization": header} if header else {}

    response = api.client.get("/v1/me", headers=headers)

    assert response.status_code == 401
    assert _error(response) == {
        "message": _error(response)["message"],
        "type": "authentication_error",
        "code": code,
        "param": None,
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="catalyst"'
    assert ApiKey.objects.count() == 2  # the injection-shaped one dropped nothing


def test_it_accepts_the_key_in_x_api_key(world, api):
    response = api.client.get("/v1/me", headers={"x-api-key": world.globex_key})

    assert response.status_code == 200
    assert response.json()["tenant"] == "globex"


def test_an_unknown_prefix_costs_the_same_work_as_a_wrong_secret(world, api):
    known_prefix_wrong_secret = keys.prefix_of(world.acme_key) + "_" + "B" * 40
    unknown_prefix = "cat_zzzzzzzz_" + "B" * 40

    shapes = []
    for credential in (known_prefix_wrong_secret, unknown_prefix):
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/v1/me", credential)
        assert response.status_code == 401
        assert _error(response)["code"] == "invalid_api_key"
        assert _error(response)["message"] == "Invalid API key."
        shapes.append([q["sql"].replace(credential[:12], "?") for q in queries])

    assert len(shapes[0]) == 1
    assert shapes[0] == shapes[1]


def _cached_credentials() -> int:
    from apps.core.redis.hotstore import hot_store

    store = hot_store()
    return sum(1 for _ in store._sync.scan_iter(match=store.prefix + "cred:key:*"))


def test_failed_authentications_never_grow_the_credential_cache(world, api, settings):
    """300 random keys once made 300 cache entries."""
    settings.AUTH_FAILURES_PER_MINUTE = 1000
    assert api.get("/v1/me", world.acme_key).status_code == 200

    statuses = {api.get("/v1/me", keys.generate_key().plaintext).status_code for _ in range(300)}

    assert statuses == {401}
    assert _cached_credentials() == 1  # only the real key


def test_an_address_that_keeps_failing_is_throttled_before_any_lookup(world, api, settings):
    settings.AUTH_FAILURES_PER_MINUTE = 5
    failures = [api.get("/v1/me", keys.generate_key().plaintext).status_code for _ in range(5)]

    with CaptureQueriesContext(connection) as queries:
        throttled = api.get("/v1/me", keys.generate_key().plaintext)
    elsewhere = api.client.get("/v1/me", headers={"authorization": f"Bearer {world.acme_key}"}, REMOTE_ADDR="10.0.0.9")

    assert failures == [401] * 5
    assert throttled.status_code == 429
    assert _error(throttled)["code"] == "authentication_throttled"
    assert throttled["Retry-After"] == "60"
    assert len(queries) == 0
    assert elsewhere.status_code == 200  # another address is not held up
    assert api.get("/v1/me", world.acme_key).status_code == 200  # a cached good key still works here


def test_a_revoked_key_stops_working_at_once_even_when_cached(world, api):
    assert api.get("/v1/me", world.acme_key).status_code == 200
    key = ApiKey.objects.get(prefix=keys.prefix_of(world.acme_key))

    services.key_revoke(key=key)
    response = api.get("/v1/me", world.acme_key)

    assert response.status_code == 401
    assert _error(response)["code"] == "revoked_api_key"


def test_an_expired_key_is_refused(world, api, monkeypatch):
    issued = services.key_create(tenant=world.acme, name="short", expires_at=timezone.now() + timedelta(minutes=5))
    assert api.get("/v1/me", issued.plaintext).status_code == 200

    later = timezone.now() + timedelta(minutes=6)
    monkeypatch.setattr(authentication.time, "time", later.timestamp)
    response = api.get("/v1/me", issued.plaintext)

    assert response.status_code == 401
    assert _error(response)["code"] == "expired_api_key"


def test_rotation_keeps_both_keys_working_for_the_grace_period_then_only_the_new_one(world, api, monkeypatch):
    old = ApiKey.objects.get(prefix=keys.prefix_of(world.acme_key))
    assert api.get("/v1/me", world.acme_key).status_code == 200

    successor = services.key_rotate(key=old, grace=timedelta(hours=1))

    assert api.get("/v1/me", world.acme_key).status_code == 200
    assert api.get("/v1/me", successor.plaintext).status_code == 200
    assert successor.key.tenant_id == old.tenant_id
    assert successor.key.team_id == old.team_id

    after_grace = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(authentication.time, "time", after_grace.timestamp)
    assert _error(api.get("/v1/me", world.acme_key))["code"] == "expired_api_key"
    assert api.get("/v1/me", successor.plaintext).status_code == 200


def test_rotation_without_grace_ends_the_old_key_at_once(world, api):
    old = ApiKey.objects.get(prefix=keys.prefix_of(world.acme_key))
    api.get("/v1/me", world.acme_key)

    successor = services.key_rotate(key=old, grace=timedelta(0))

    assert _error(api.get("/v1/me", world.acme_key))["code"] == "expired_api_key"
    assert api.get("/v1/me", successor.plaintext).status_code == 200


def test_a_suspended_tenant_gets_403_for_keys_and_tokens(world, api):
    from apps.tenancy.tokens import issue_token

    token = issue_token(user_id=world.owner.pk, tenant_slug="acme")
    assert api.get("/v1/me", world.acme_key).status_code == 200
    assert api.get("/v1/me", token).status_code == 200

    services.tenant_set_status(tenant=world.acme, status=TenantStatus.SUSPENDED)

    for credential in (world.acme_key, token):
        response = api.get("/v1/me", credential)
        assert response.status_code == 403
        assert _error(response)["code"] == "tenant_suspended"
    assert api.get("/v1/me", world.globex_key).status_code == 200

    services.tenant_set_status(tenant=world.acme, status=TenantStatus.ACTIVE)
    assert api.get("/v1/me", world.acme_key).status_code == 200


def test_a_key_scoped_to_other_endpoints_gets_403(world, api):
    issued = services.key_create(tenant=world.acme, name="chat only", allowed_endpoints=["chat"])

    response = api.get("/v1/me", issued.plaintext)

    assert response.status_code == 403
    assert _error(response)["code"] == "endpoint_not_allowed"


def test_a_key_scoped_to_models_may_use_only_those(world):
    principal = Principal(
        tenant_id=1, tenant_slug="acme", tier="free", method="api_key", allowed_models=("gpt-4o-mini",)
    )

    authentication.authorize(principal, endpoint="chat", model="gpt-4o-mini")
    with pytest.raises(authentication.PermissionDenied) as refused:
        authentication.authorize(principal, endpoint="chat", model="gpt-4o")

    assert refused.value.status == 403
    assert refused.value.envelope()["error"]["code"] == "model_not_allowed"
    assert refused.value.envelope()["error"]["param"] == "model"


def test_unknown_api_paths_answer_with_the_envelope(world, api):
    response = api.client.post("/v1/does-not-exist", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert _error(response)["type"] == "not_found_error"


def test_a_wrong_method_answers_405_in_the_envelope(world, api):
    response = api.client.post("/v1/me", headers={"authorization": f"Bearer {world.acme_key}"})

    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_a_deactivated_users_key_stops_working_for_chat_and_their_conversations(world, api):
    issued = services.key_create(tenant=world.acme, name="bob's", user=world.teammate)
    assert api.get("/v1/conversations", issued.plaintext).status_code == 200

    services.user_set_active(user=world.teammate, active=False)
    conversations = api.get("/v1/conversations", issued.plaintext)
    chat = api.client.post(
        "/v1/chat/completions", data={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        content_type="application/json", headers={"authorization": f"Bearer {issued.plaintext}"},
    )  # fmt: skip

    assert (conversations.status_code, _error(conversations)["code"]) == (401, "inactive_user")
    assert (chat.status_code, _error(chat)["code"]) == (401, "inactive_user")
    assert _error(chat)["message"] == "The user this API key belongs to is deactivated."
