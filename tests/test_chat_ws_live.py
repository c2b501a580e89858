"""The WebSocket chat protocol against a live server: handshake, frames, cancel, resume, limits."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal

import pytest
import websockets
from django.contrib.auth import get_user_model

from apps.catalogue.models import LlmModel, Provider
from apps.catalogue.snapshot import catalogue_changed
from apps.chat.context import SUMMARY_PREFIX
from apps.chat.models import Conversation, Message
from apps.metering.models import UsageRecord
from apps.tenancy import services
from apps.tenancy.models import Tenant, TenantStatus, Tier
from apps.tenancy.tokens import issue_token
from catalyst.testing.chat import ChatClient, connect

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def people(live, django_db_blocker):
    """JWTs for the live tenant's owner, the free tenant's owner, and a suspended tenant's owner."""
    with django_db_blocker.unblock():
        User = get_user_model()
        owner = User.objects.get(username="live-owner")
        other = User.objects.get(username="other-owner")
        frozen = services.tenant_onboard(slug="frozen", name="Frozen", tier="free", owner_username="frozen-owner")
        Tenant.objects.filter(pk=frozen.tenant.pk).update(status=TenantStatus.SUSPENDED)
        services.tenant_saved(tenant=Tenant.objects.get(pk=frozen.tenant.pk))
    yield {
        "owner": issue_token(user_id=owner.pk, tenant_slug="live"),
        "owner_id": owner.pk,
        "other": issue_token(user_id=other.pk, tenant_slug="live-other"),
        "frozen": issue_token(user_id=frozen.owner.user.pk, tenant_slug="frozen"),
        "stranger": issue_token(user_id=other.pk, tenant_slug="live"),  # not a member of live
    }
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="frozen").delete()
        User.objects.filter(username="frozen-owner").delete()


async def close_code(url: str, token: str | None, subprotocols=None) -> int:
    connection = await connect(url, token) if subprotocols is None else await websockets.connect(
        url.replace("http://", "ws://") + "/ws/chat/", subprotocols=subprotocols
    )  # fmt: skip
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(connection.recv(), 5)
    return closed.value.rcvd.code


def test_a_bad_token_is_refused_with_4401_and_a_suspended_tenant_with_4403(fresh, people):
    url = fresh.server.url
    expired = issue_token(user_id=people["owner_id"], tenant_slug="live", ttl_seconds=-60)

    async def scenario():
        return {
            "no token": await close_code(url, None),
            "garbage": await close_code(url, "not.a.jwt"),
            "api key": await close_code(url, None, subprotocols=["catalyst.v1", "bearer." + fresh.key]),
            "no catalyst.v1": await close_code(url, None, subprotocols=["bearer." + people["owner"]]),
            "expired": await close_code(url, expired),
            "forged": await close_code(url, people["owner"][:-4] + "AAAA"),
            "not a member": await close_code(url, people["stranger"]),
            "suspended": await close_code(url, people["frozen"]),
        }

    assert asyncio.run(scenario()) == {
        "no token": 4401, "garbage": 4401, "api key": 4401, "no catalyst.v1": 4401, "expired": 4401,
        "forged": 4401, "not a member": 4401, "suspended": 4403,
    }  # fmt: skip
    assert fresh.mock.requests() == []


def test_a_message_streams_token_frames_then_done_with_usage_and_cost(fresh, people):
    async def scenario():
        client = await ChatClient.open(fresh.server.url, people["owner"])
        client_id = await client.message("Say hello to the gateway", model="gpt-mock")
        answer = await client.until(client_id)
        await client.send({"type": "ping"})
        pong = await client.receive()
        await client.close()
        return answer, pong

    answer, pong = asyncio.run(scenario())

    typing, done = answer.frames[0], answer.end
    tokens = [f for f in answer.frames if f["type"] == "token"]
    upstream = fresh.mock.requests()
    assert pong == {"type": "pong"}
    assert typing["type"] == "typing" and typing["active"] is True
    assert typing["title"] == "Say hello to the gateway"
    assert len(tokens) == 20
    assert [t["offset"] for t in tokens] == [sum(len(t["content"]) for t in tokens[:i]) for i in range(20)]
    assert done["type"] == "done"
    assert done["model"] == "gpt-mock"
    assert done["usage"] == {"tokens_in": upstream[0]["prompt_tokens"], "tokens_out": 20}
    expected_cost = (Decimal(done["usage"]["tokens_in"]) * 1 + Decimal(20) * 2) / Decimal(1_000_000)
    assert Decimal(done["cost_usd"]) == expected_cost
    assert len(upstream) == 1 and upstream[0]["stream"] is True and upstream[0]["outcome"] == "completed"
    conversation = Conversation.objects.get(pk=typing["conversation_id"])
    assert conversation.tenant.slug == "live"
    stored = list(conversation.messages.values_list("role", "content", "status", "tokens_out", "cost_usd"))
    assert stored == [
        ("user", "Say hello to the gateway", "complete", 0, Decimal(0)),
        ("assistant", answer.text, "complete", 20, expected_cost),
    ]
    record = wait_for_record(conversation.messages.get(role="assistant").request_id)
    assert (record.outcome, record.tokens_out, record.cost_usd, record.stream) == ("ok", 20, expected_cost, True)


def wait_for_record(request_id: str) -> UsageRecord:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        record = UsageRecord.objects.filter(request_id=request_id).first()
        if record is not None:
            return record
        time.sleep(0.05)
    raise AssertionError(f"no usage record for {request_id}")


def test_cancel_stops_the_upstream_stream_and_its_billing_within_50_ms(fresh, people):
    fresh.mock.script("gpt-mock", [{"tps": 50, "tokens": 400}])

    async def scenario():
        client = await ChatClient.open(fresh.server.url, people["owner"])
        client_id = await client.message("Tell me a long story", model="gpt-mock")
        await client.until(client_id, ("token",))
        cancelled_at = time.time()
        await client.send({"type": "cancel", "id": client_id})
        await client.send({"type": "cancel", "id": client_id})  # asking twice must not skip settlement
        answer = await client.until(client_id)
        await client.close()
        return answer, cancelled_at

    answer, cancelled_at = asyncio.run(scenario())

    time.sleep(0.3)
    upstream = fresh.mock.requests()[0]
    answer_row = Message.objects.get(client_id=answer.id, role="assistant")
    assert answer.end == {"type": "cancelled", "id": answer.id}
    assert upstream["outcome"] == "abandoned"
    assert upstream["ended_at"] - cancelled_at < 0.05
    assert upstream["tokens_sent"] < 50
    assert answer_row.status == "cancelled"
    assert answer_row.content.startswith(answer.text) and answer_row.content
    record = wait_for_record(answer_row.request_id)
    assert record.outcome == "cancelled"
    assert record.tokens_out == answer_row.tokens_out == len(answer_row.content.split())
    assert record.cost_usd == answer_row.cost_usd > 0


def test_a_client_that_drops_mid_answer_resumes_it_from_its_offset(fresh, people):
    fresh.mock.script("gpt-mock", [{"tps": 100, "tokens": 40}])

    async def scenario():
        first = await ChatClient.open(fresh.server.url, people["owner"])
        client_id = await first.message("Count slowly", model="gpt-mock")
        for _ in range(6):
            await first.until(client_id, ("token",))
            await first.receive()
        seen = first.answers[client_id].text
        await first.connection.close()  # the answer goes on without a listener
        await asyncio.sleep(0.1)
        second = await ChatClient.open(fresh.server.url, people["owner"])
        await second.send({"type": "resume", "id": client_id, "offset": len(seen)})
        rest = await second.until(client_id)
        second.answers.clear()
        resent = await second.message("ignored: this id is answered", id=client_id)  # a re-sent message
        again = await second.until(resent, within=5)
        await second.close()
        return seen, rest, again

    seen, rest, again = asyncio.run(scenario())

    stored = Message.objects.get(client_id=rest.id, role="assistant")
    first_token = rest.first("token")
    assert first_token["offset"] == len(seen)
    assert seen + rest.text == stored.content  # the second client holds only what it had not seen
    assert rest.end["type"] == "done" and rest.end["usage"]["tokens_out"] == 40
    assert stored.status == "complete" and len(stored.content.split()) == 40
    assert again.text == stored.content  # replayed from the start, from wherever it is
    assert len(fresh.mock.requests()) == 1  # resuming and re-sending never asked upstream again
    assert Message.objects.filter(client_id=rest.id).count() == 2  # one question, one answer


@pytest.fixture(scope="module")
def broke(live, django_db_blocker):
    """A member of a tenant whose monthly budget is zero."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(
            slug="broke", name="Broke", tier="enterprise", owner_username="broke-owner",
            monthly_budget_usd=Decimal("0.00"),
        )  # fmt: skip
    yield issue_token(user_id=onboarding.owner.user.pk, tenant_slug="broke")
    with django_db_blocker.unblock():
        Tenant.objects.filter(slug="broke").delete()
        get_user_model().objects.filter(username="broke-owner").delete()


def test_refusals_arrive_as_error_frames_with_codes_and_the_connection_stays_usable(fresh, people, broke):
    fresh.mock.script("gpt-mock", [{"tps": 20, "tokens": 40}])
    fresh.mock.script("claude-mock", [{"status": 500}] * 4)

    async def scenario():
        free = await ChatClient.open(fresh.server.url, people["other"])
        slow = await free.message("A long answer please", model="gpt-mock")
        await free.until(slow, ("token",))
        second = await free.until(await free.message("And another", model="gpt-mock"))
        await free.send({"type": "cancel", "id": slow})
        await free.until(slow)
        await free.close()
        owner = await ChatClient.open(fresh.server.url, people["owner"])
        unknown = await owner.until(await owner.message("Hi", model="no-such-model"))
        failing = await owner.until(await owner.message("Hi", model="claude-mock"))
        await owner.send({"type": "message", "id": "bad id!", "content": "x"})
        bad_id = await owner.receive()
        await owner.connection.send("{not json")
        not_json = await owner.receive()
        missing = await owner.until(await owner.message("Hi", conversation_id=987654321))
        still_fine = await owner.until(await owner.message("Still there?", model="gpt-mini-mock"))
        await owner.close()
        poor = await ChatClient.open(fresh.server.url, broke)
        no_money = await poor.until(await poor.message("Hi", model="gpt-mock"))
        await poor.close()
        return second, unknown, failing, bad_id, not_json, missing, still_fine, no_money

    second, unknown, failing, bad_id, not_json, missing, still_fine, no_money = asyncio.run(scenario())

    def code(answer):
        return answer.end["type"], answer.end["code"]

    assert code(second) == ("error", "too_many_concurrent_streams")
    assert code(unknown) == ("error", "model_not_found")
    assert code(failing) == ("error", "upstream_failed")
    assert (bad_id["type"], bad_id["code"], bad_id["id"]) == ("error", "invalid_frame", None)
    assert (not_json["type"], not_json["code"]) == ("error", "invalid_frame")
    assert code(missing) == ("error", "not_found")
    assert code(no_money) == ("error", "budget_exhausted")
    assert still_fine.end["type"] == "done"
    failed = Message.objects.get(client_id=failing.id, role="assistant")
    assert (failed.status, failed.error_code, failed.content) == ("failed", "upstream_failed", "")
    assert not Message.objects.filter(client_id=missing.id).exists()  # nothing stored for a refused frame
    assert [r["model"] for r in fresh.mock.requests() if r["outcome"] == "completed"] == ["gpt-mini-mock"]


def mock_tokens(text: str) -> int:
    """How the mock counts prompt tokens (apps/mockllm README: Determinism)."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def test_a_long_conversation_is_folded_into_a_rolling_summary_by_the_cheapest_model(fresh, people):
    long_turns = [" ".join(["alpha", "beta", "gamma"][i % 3] + str(n % 7) for i in range(1500)) for n in range(3)]

    async def talk(*texts: str, conversation_id: int | None = None):
        client = await ChatClient.open(fresh.server.url, people["owner"])
        for text in texts:
            answer = await client.until(await client.message(text, model="gpt-mock", conversation_id=conversation_id))
            conversation_id = answer.end["conversation_id"]
        await client.close()
        return answer

    conversation_id = asyncio.run(talk(*long_turns)).end["conversation_id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Conversation.objects.get(pk=conversation_id).summary:
        time.sleep(0.1)
    last = asyncio.run(talk("What did I say?", conversation_id=conversation_id))

    conversation = Conversation.objects.get(pk=conversation_id)
    turns = list(conversation.messages.order_by("id"))
    summary_call, final_call = fresh.mock.requests()[3], fresh.mock.requests()[4]
    record = wait_for_record(turns[5].request_id + "-summary")
    assert conversation.summary and conversation.summary_through == turns[1].pk  # the first question and answer
    assert (summary_call["model"], record.model, record.outcome) == ("gpt-mini-mock", "gpt-mini-mock", "ok")
    assert record.cost_usd > 0
    sent = [SUMMARY_PREFIX + conversation.summary] + [t.content for t in turns[2:7]]  # not the answer being written
    assert final_call["prompt_tokens"] == sum(mock_tokens(text) for text in sent)
    assert last.end["type"] == "done"


def test_an_idle_connection_survives_longer_than_the_redis_clients_default_read_timeout(fresh, people):
    """redis-py 8 cuts reads after 5 s by default; the channel layer's blocking receive must not."""

    async def scenario():
        client = await ChatClient.open(fresh.server.url, people["owner"])
        await asyncio.sleep(6.5)
        await client.send({"type": "ping"})
        pong = await client.receive()
        answer = await client.until(await client.message("Still there?", model="gpt-mock"))
        await client.close()
        return pong, answer

    pong, answer = asyncio.run(scenario())

    assert pong == {"type": "pong"}
    assert answer.end["type"] == "done"


@pytest.fixture(scope="module")
def restricted(live, django_db_blocker):
    """A model only the enterprise tier may use, and a member of a tenant allowed one request a minute."""
    with django_db_blocker.unblock():
        provider = Provider.objects.get(name="mock-openai")
        model = LlmModel.objects.create(name="enterprise-mock", provider=provider, upstream_name="enterprise-mock")
        model.tiers.set([Tier.objects.get(name="enterprise")])
        catalogue_changed()
        onboarding = services.tenant_onboard(
            slug="trickle", name="Trickle", tier="enterprise", owner_username="trickle"
        )
        Tenant.objects.filter(slug="trickle").update(override_requests_per_minute=1)
        services.tenant_saved(tenant=Tenant.objects.get(slug="trickle"))
    yield issue_token(user_id=onboarding.owner.user.pk, tenant_slug="trickle")
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name="enterprise-mock").delete()
        catalogue_changed()
        Tenant.objects.filter(slug="trickle").delete()
        get_user_model().objects.filter(username="tk").delete()


def test_a_model_outside_the_tier_and_a_spent_rate_limit_arrive_as_error_frames(fresh, people, restricted):
    async def scenario():
        free = await ChatClient.open(fresh.server.url, people["other"])
        not_allowed = await free.until(await free.message("Hi", model="enterprise-mock"))
        await free.close()
        trickle = await ChatClient.open(fresh.server.url, restricted)
        first = await trickle.until(await trickle.message("Hi", model="gpt-mock"))
        second = await trickle.until(await trickle.message("Again", model="gpt-mock"))
        await trickle.close()
        return not_allowed, first, second

    not_allowed, first, second = asyncio.run(scenario())

    assert (not_allowed.end["type"], not_allowed.end["code"]) == ("error", "model_not_allowed")
    assert first.end["type"] == "done"
    assert (second.end["type"], second.end["code"]) == ("error", "rate_limited")
    assert 1 <= second.end["retry_after"] <= 60
    assert [r["model"] for r in fresh.mock.requests()] == ["gpt-mock"]  # refusals never reached upstream


def test_regenerate_replaces_the_last_answer_and_odd_frames_never_cost_the_connection(fresh, people):
    async def scenario():
        client = await ChatClient.open(fresh.server.url, people["owner"])
        first = await client.until(await client.message("Name three rivers", model="gpt-mock"))
        conversation_id = first.end["conversation_id"]
        again = await client.until(
            await client.message("", model="gpt-mock", conversation_id=conversation_id, regenerate=True)
        )
        await client.connection.send("[" * 100_000)
        deep = await client.receive()
        client.answers.clear()
        reused = await client.until(await client.message("Name three rivers", id=first.id, model="gpt-mock"))
        await client.send({"type": "ping"})
        pong = await client.receive()
        await client.close()
        return first, again, deep, reused, pong, conversation_id

    first, again, deep, reused, pong, conversation_id = asyncio.run(scenario())

    rows = list(Message.objects.filter(conversation_id=conversation_id).values_list("client_id", "role", "status"))
    assert again.end["type"] == "done" and again.text == first.text  # same history, same mock answer
    assert rows == [(first.id, "user", "complete"), (again.id, "assistant", "complete")]
    assert (deep["type"], deep["code"]) == ("error", "invalid_frame")
    assert (reused.end["code"], reused.end["id"]) == ("invalid_request", first.id)
    assert pong == {"type": "pong"}
    assert len(fresh.mock.requests()) == 2
