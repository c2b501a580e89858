"""The conversation API the chat page uses: every row belongs to one tenant and one user."""

from __future__ import annotations

import json

import pytest

from apps.chat.models import Conversation, Message
from apps.tenancy import services
from apps.tenancy.tokens import issue_token


def _conversation(tenant, user, title: str, *turns: str) -> Conversation:
    conversation = Conversation.objects.create(tenant=tenant, user=user, title=title)
    for number, text in enumerate(turns):
        role = "user" if number % 2 == 0 else "assistant"
        Message.objects.create(
            conversation=conversation, tenant=tenant, user_id=user.pk, client_id=f"{title}-{number}", role=role,
            content=text,
        )  # fmt: skip
    return conversation


@pytest.fixture
def chats(world):
    """Alice has two conversations, her teammate Bob one, and Carol (another tenant) one."""
    return {
        "trip": _conversation(world.acme, world.owner, "Trip to Lisbon", "Where to eat?", "Try the bacalhau."),
        "code": _conversation(world.acme, world.owner, "Refactor", "Split the module", "Done, see below."),
        "bob": _conversation(world.acme, world.teammate, "Bob's notes", "Lisbon again"),
        "carol": _conversation(world.globex, world.outsider, "Carol's plan", "Lisbon too"),
    }


def call(api, method: str, path: str, token: str, body: dict | None = None):
    return api.client.generic(
        method, path, json.dumps(body) if body is not None else "", content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )  # fmt: skip


def alice(world) -> str:
    return issue_token(user_id=world.owner.pk, tenant_slug="acme")


def test_the_list_is_the_callers_own_newest_first_and_search_covers_titles_and_messages(world, chats, api):
    token = alice(world)
    Conversation.objects.filter(pk=chats["trip"].pk).update(updated_at=chats["code"].updated_at.replace(year=2030))

    listing = call(api, "GET", "/v1/conversations", token).json()["data"]
    by_title = call(api, "GET", "/v1/conversations?q=lisbon", token).json()["data"]
    by_message = call(api, "GET", "/v1/conversations?q=SEE+BELOW", token).json()["data"]
    bad_limit = call(api, "GET", "/v1/conversations?limit=0", token)

    assert [c["title"] for c in listing] == ["Trip to Lisbon", "Refactor"]
    assert [c["title"] for c in by_title] == ["Trip to Lisbon"]
    assert [c["title"] for c in by_message] == ["Refactor"]
    assert (bad_limit.status_code, bad_limit.json()["error"]["param"]) == (400, "limit")


def test_messages_rename_and_delete(world, chats, api):
    token, trip = alice(world), chats["trip"]

    messages = call(api, "GET", f"/v1/conversations/{trip.pk}/messages", token).json()["data"]
    renamed = call(api, "PATCH", f"/v1/conversations/{trip.pk}", token, {"title": "  Lisbon, May  "})
    empty = call(api, "PATCH", f"/v1/conversations/{trip.pk}", token, {"title": " "})
    deleted = call(api, "DELETE", f"/v1/conversations/{trip.pk}", token)
    gone = call(api, "GET", f"/v1/conversations/{trip.pk}", token)

    assert [(m["role"], m["content"], m["status"]) for m in messages] == [
        ("user", "Where to eat?", "complete"),
        ("assistant", "Try the bacalhau.", "complete"),
    ]
    assert (renamed.status_code, renamed.json()["title"]) == (200, "Lisbon, May")
    assert (empty.status_code, empty.json()["error"]["param"]) == (400, "title")
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert not Message.objects.filter(conversation_id=trip.pk).exists()


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_another_users_conversation_is_not_found_in_or_across_tenants(world, chats, api, method):
    token = alice(world)
    for other in ("bob", "carol"):
        pk = chats[other].pk
        response = call(api, method, f"/v1/conversations/{pk}", token, {"title": "mine now"})
        messages = call(api, "GET", f"/v1/conversations/{pk}/messages", token)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
        assert messages.status_code == 404
    assert Conversation.objects.get(pk=chats["bob"].pk).title == "Bob's notes"
    assert Conversation.objects.filter(pk=chats["carol"].pk).exists()


def test_a_key_without_a_user_is_refused_and_a_users_key_sees_that_users_conversations(world, chats, api):
    refused = call(api, "GET", "/v1/conversations", world.acme_key)
    issued = services.key_create(tenant=world.acme, name="bob's key", user=world.teammate)
    bobs = call(api, "GET", "/v1/conversations", issued.plaintext).json()["data"]

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "conversations_need_a_user")
    assert [c["title"] for c in bobs] == ["Bob's notes"]
