"""The exact cache against a live server with the official SDKs: a repeated request is answered
from the cache (stream and not, in each endpoint's own wire format), never across tenants, with
each request control honoured, a stale answer standing in when every provider fails, and a hit's
usage record charging nothing and saying what it saved."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest
from django.db import connection

from apps.cache.models import CacheMode, CachePolicy
from apps.catalogue.snapshot import catalogue_changed
from apps.metering.models import UsageRecord
from apps.tenancy import services
from apps.tenancy.models import Tenant

from .conftest import delete_tenants

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def policies(live, django_db_blocker):
    """Both live tenants get an exact cache (committed, so the live server sees it); the suite's
    platform policy stays off. "faq" is a use case of its own; "strict" never serves stale."""
    with django_db_blocker.unblock():
        rows = [
            CachePolicy.objects.create(tenant=Tenant.objects.get(slug=slug), mode=CacheMode.EXACT)
            for slug in ("live", "live-other")
        ]
        rows.append(CachePolicy.objects.create(tenant=live.tenant, use_case="faq", ttl_seconds=60))
        rows.append(CachePolicy.objects.create(tenant=live.tenant, use_case="strict", serve_stale=False))
        for slug in ("live", "live-other"):  # semantic, at the shipped threshold
            rows.append(CachePolicy.objects.create(tenant=Tenant.objects.get(slug=slug), use_case="similar"))
        catalogue_changed()
    yield rows
    with django_db_blocker.unblock():
        CachePolicy.objects.filter(pk__in=[row.pk for row in rows]).delete()
        catalogue_changed()


@pytest.fixture
def cached(policies, fresh):
    return fresh


def client(world, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=world.base_url, api_key=key or world.key, max_retries=0)


def ask(world, prompt: str, key: str | None = None, headers: dict | None = None, **params):
    raw = client(world, key).chat.completions.with_raw_response.create(
        model="gpt-mock", messages=[{"role": "user", "content": prompt}], extra_headers=headers or {}, **params
    )
    return raw.headers["x-catalyst-cache"], raw.parse()


def upstream_calls(world) -> int:
    return len(world.mock.requests("gpt-mock"))


def fresh_prompt() -> str:
    return f"What is a circuit breaker? ({uuid.uuid4().hex[:8]})"


def test_the_second_identical_request_is_a_hit_with_the_same_answer_and_no_upstream_call(cached):
    prompt = fresh_prompt()

    first_status, first = ask(cached, prompt)
    second_status, second = ask(cached, prompt)
    other_status, _ = ask(cached, prompt, temperature=0.2)  # another parameter: another entry

    assert (first_status, second_status, other_status) == ("MISS", "HIT", "MISS")
    assert second.choices[0].message.content == first.choices[0].message.content
    assert second.usage.completion_tokens == first.usage.completion_tokens == 20
    assert upstream_calls(cached) == 2  # the first and the temperature 0.2 one


def test_a_cached_stream_is_replayed_as_a_stream_in_each_wire_format(cached):
    prompt = fresh_prompt()
    ask(cached, prompt)  # stored from a non-streamed answer

    with client(cached).chat.completions.with_streaming_response.create(
        model="gpt-mock", messages=[{"role": "user", "content": prompt}], stream=True,
        stream_options={"include_usage": True},
    ) as streamed:  # fmt: skip
        status = streamed.headers["x-catalyst-cache"]
        chunks = list(streamed.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    _, original = ask(cached, prompt)
    claude = anthropic.Anthropic(base_url=cached.server.url, api_key=cached.key, max_retries=0)
    body = {"model": "claude-mock", "max_tokens": 100, "messages": [{"role": "user", "content": prompt}]}
    with claude.messages.stream(**body) as first:
        first_text = "".join(first.text_stream)
    with claude.messages.with_streaming_response.create(**body, stream=True) as replay:
        anthropic_status = replay.headers["x-catalyst-cache"]
        events = [event.type for event in replay.parse()]

    assert status == "HIT"
    # stored whole (a non-streamed answer), replayed word by word
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == len(text.split()) > 1
    assert text == original.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == 20
    assert anthropic_status == "HIT"
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert events.count("content_block_delta") > 1
    assert first_text
    assert len(cached.mock.requests("claude-mock")) == 1


def test_no_tenant_is_ever_served_another_tenants_entry(cached):
    """Prompts asked by one tenant, then by the other (a free tier: 10 requests a minute): every
    one of the other's is a MISS, then a hit on its own entry."""
    prompts = [fresh_prompt() for _ in range(4)]
    first = [ask(cached, prompt)[0] for prompt in prompts]
    other = [ask(cached, prompt, key=cached.other_key)[0] for prompt in prompts]
    again = [ask(cached, prompt, key=cached.other_key)[0] for prompt in prompts]

    assert first == ["MISS"] * 4
    assert other == ["MISS"] * 4
    assert again == ["HIT"] * 4  # the other tenant's own entries
    assert upstream_calls(cached) == 8


def test_each_request_control_is_honoured(cached):
    prompt = fresh_prompt()
    ask(cached, prompt)

    no_cache = ask(cached, prompt, headers={"Cache-Control": "no-cache"})[0]
    no_store_prompt = fresh_prompt()
    no_store = [ask(cached, no_store_prompt, headers={"Cache-Control": "no-store"})[0] for _ in range(2)]
    time.sleep(1.1)
    too_old = ask(cached, prompt, headers={"Cache-Control": "max-age=1"})[0]
    young_enough = ask(cached, prompt, headers={"Cache-Control": "max-age=60"})[0]
    use_case = [ask(cached, prompt, headers={"X-Catalyst-Use-Case": "faq"})[0] for _ in range(2)]
    with pytest.raises(openai.BadRequestError) as unknown:
        ask(cached, prompt, headers={"X-Catalyst-Use-Case": "nope"})
    with pytest.raises(openai.BadRequestError) as bad_ttl:
        ask(cached, prompt, headers={"X-Catalyst-Cache-TTL": "soon"})

    assert no_cache == "MISS"  # looked past the entry, and stored the fresh answer
    assert no_store == ["BYPASS", "BYPASS"]
    assert (too_old, young_enough) == ("MISS", "HIT")
    assert use_case == ["MISS", "HIT"]  # its own policy, its own entries
    assert unknown.value.body["message"] == "No cache policy is named 'nope' for this tenant."
    assert bad_ttl.value.body["param"] == "X-Catalyst-Cache-TTL"


def test_a_stale_entry_answers_when_every_provider_fails_unless_the_policy_forbids_it(cached):
    prompt = fresh_prompt()
    _, original = ask(cached, prompt, headers={"X-Catalyst-Cache-TTL": "1"})
    strict = {"X-Catalyst-Use-Case": "strict", "X-Catalyst-Cache-TTL": "1"}
    ask(cached, prompt, headers=strict)
    time.sleep(1.1)
    cached.mock.script("gpt-mock", [{"status": 500}] * 4)

    stale_status, stale = ask(cached, prompt)
    cached.mock.script("gpt-mock", [{"status": 500}] * 4)
    with pytest.raises(openai.InternalServerError) as refused:
        ask(cached, prompt, headers={"X-Catalyst-Use-Case": "strict"})

    assert stale_status == "STALE"
    assert stale.choices[0].message.content == original.choices[0].message.content
    assert refused.value.status_code == 502


def test_a_hit_is_recorded_as_cached_charging_nothing_and_saying_what_it_saved(cached):
    prompt = fresh_prompt()
    first = client(cached).chat.completions.with_raw_response.create(
        model="gpt-mock", messages=[{"role": "user", "content": prompt}]
    )
    hit = client(cached).chat.completions.with_raw_response.create(
        model="gpt-mock", messages=[{"role": "user", "content": prompt}]
    )
    ids = [first.headers["x-request-id"], hit.headers["x-request-id"]]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if UsageRecord.objects.filter(request_id__in=ids).count() == 2:
            break
        time.sleep(0.05)
    miss_record = UsageRecord.objects.get(request_id=ids[0])
    hit_record = UsageRecord.objects.get(request_id=ids[1])
    usage = hit.parse().usage

    assert hit.headers["x-catalyst-cost-usd"] == "0.00000000"
    assert (miss_record.cache_status, hit_record.cache_status) == ("MISS", "HIT")
    assert (hit_record.tokens_in, hit_record.tokens_out, hit_record.cost_usd) == (0, 0, Decimal(0))
    assert hit_record.tokens_replayed == usage.prompt_tokens + usage.completion_tokens
    assert hit_record.saved_usd == miss_record.cost_usd > 0
    assert hit_record.outcome == "ok"


def test_the_platform_api_reports_the_cache(cached):
    prompt = fresh_prompt()
    body = {"prompt": prompt, "model": "gpt-mock"}
    headers = {"Authorization": f"Bearer {cached.key}"}

    first = httpx.post(cached.base_url + "/generate", json=body, headers=headers, timeout=20).json()
    second = httpx.post(cached.base_url + "/generate", json=body, headers=headers, timeout=20).json()

    assert (first["cache"], first["cached"], second["cache"], second["cached"]) == ("MISS", False, "HIT", True)
    assert second["content"] == first["content"]
    assert second["cost_usd"] == "0.00000000"


def test_chat_gets_the_cache_too_and_its_done_frame_says_so(cached):
    """Two new conversations asking the same first question: the second is answered from the cache,
    token frames and all; the done frame carries the status."""
    from django.contrib.auth import get_user_model

    from apps.tenancy.tokens import issue_token
    from catalyst.testing.chat import ChatClient

    owner = get_user_model().objects.get(username="live-owner")
    token = issue_token(user_id=owner.pk, tenant_slug="live")
    prompt = fresh_prompt()

    async def scenario():
        client = await ChatClient.open(cached.server.url, token)
        answers = []
        for _ in range(2):
            answers.append(await client.until(await client.message(prompt, model="gpt-mock")))
        await client.close()
        return answers

    first, second = asyncio.run(scenario())

    assert (first.end["type"], first.end["cached"]) == ("done", "MISS")
    assert (second.end["type"], second.end["cached"]) == ("done", "HIT")
    assert second.text == first.text
    assert len([f for f in second.frames if f["type"] == "token"]) > 1
    assert second.end["cost_usd"] == "0.00000000"
    assert len(cached.mock.requests("gpt-mock")) == 1


def test_a_rewording_is_a_semantic_hit_and_a_swap_or_another_tenant_is_not(cached):
    similar = {"X-Catalyst-Use-Case": "similar"}
    tag = uuid.uuid4().hex[:6]
    _, original = ask(cached, f"How do I rotate the API key of project {tag}?", headers=similar)
    reworded_status, reworded = ask(cached, f"how do I rotate the API key of project {tag}", headers=similar)
    ask(cached, f"Book flights from Oslo to Rome for team {tag}", headers=similar)
    swapped_status, _ = ask(cached, f"Book flights from Rome to Oslo for team {tag}", headers=similar)
    reworded_question = f"how do I rotate the API key of project {tag}"
    other_status, _ = ask(cached, reworded_question, key=cached.other_key, headers=similar)
    different_status, _ = ask(cached, f"How do I delete the API key of project {tag}?", headers=similar)

    assert reworded_status == "SEMANTIC"
    assert reworded.choices[0].message.content == original.choices[0].message.content
    assert swapped_status == "MISS"  # a bag of words would have matched it
    assert other_status == "MISS"  # never across tenants
    assert different_status == "MISS"
    assert upstream_calls(cached) == 5


@pytest.fixture(scope="module")
def provider_embedded(live, django_db_blocker):
    """A tenant whose vectors come from a catalogue embedding model (embed-mock), with a semantic
    cache; committed, so the live server sees it."""
    with django_db_blocker.unblock():
        onboarding = services.tenant_onboard(slug="embedded", name="Embedded", tier="enterprise")
        tenant = onboarding.tenant
        tenant.embedding_model = "embed-mock"
        tenant.full_clean()
        tenant.save()
        services.tenant_saved(tenant=tenant)
        CachePolicy.objects.create(tenant=tenant, mode=CacheMode.SEMANTIC)
        catalogue_changed()
    yield onboarding.issued.plaintext
    with django_db_blocker.unblock():
        delete_tenants(slug="embedded")
        catalogue_changed()


def test_a_tenants_own_embedding_model_embeds_its_questions_through_the_pipeline_and_is_metered(
    provider_embedded, fresh
):
    """The mock's embedding is a bag of words: a rewording with the same words is a SEMANTIC hit,
    and the swapped trip, which it scores as identical, is refused by the ordered check."""
    tag = uuid.uuid4().hex[:6]
    asked = [
        f"How do I rotate the API key of project {tag}?",
        f"how do I rotate the API key of project {tag}",
        f"Book flights from Oslo to Rome for team {tag}",
        f"Book flights from Rome to Oslo for team {tag}",
    ]
    live = fresh
    statuses = [ask(live, question, key=provider_embedded)[0] for question in asked]
    tenant = Tenant.objects.get(slug="embedded")
    deadline = time.monotonic() + 10
    while UsageRecord.objects.filter(tenant=tenant).count() < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    embedded = UsageRecord.objects.filter(tenant=tenant, endpoint="cache-embeddings").order_by("created_at")
    answered = UsageRecord.objects.filter(tenant=tenant, endpoint="chat").order_by("created_at")

    assert statuses == ["MISS", "SEMANTIC", "MISS", "MISS"]
    assert len(live.mock.requests("embed-mock")) == 4  # one embedding per question looked up
    assert len(live.mock.requests("gpt-mock")) == 3  # the rewording was answered from the cache
    assert [(r.model, r.outcome, r.tokens_out) for r in embedded] == [("embed-mock", "ok", 0)] * 4
    assert all(r.tokens_in > 0 and r.cost_usd == Decimal(r.tokens_in) / 1_000_000 for r in embedded)
    assert [r.request_id for r in embedded] == [f"{r.request_id}:cache-embeddings" for r in answered]
    assert [r.cache_status for r in answered] == ["MISS", "SEMANTIC", "MISS", "MISS"]


def test_a_failing_embedding_model_makes_a_miss_not_an_error(provider_embedded, fresh):
    question = f"How do I rotate the API key of project {uuid.uuid4().hex[:6]}?"
    fresh.mock.script("embed-mock", [{"status": 500}] * 4)

    status, answer = ask(fresh, question, key=provider_embedded)
    again, _ = ask(fresh, question, key=provider_embedded)  # the exact entry needs no embedding

    assert (status, again) == ("MISS", "HIT")
    assert answer.choices[0].message.content
    assert [r["status"] for r in fresh.mock.requests("embed-mock")][:1] == [500]
    assert len(fresh.mock.requests("gpt-mock")) == 1


PROBE_TENANTS = 6


def stored_vectors(expected: int) -> None:
    """Wait until the probe tenants' vectors are stored (after their responses)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM cache_vector v JOIN tenancy_tenant t ON t.id = v.tenant_id "
                "WHERE t.slug LIKE 'probe-%%'"
            )
            if cursor.fetchone()[0] >= expected:
                return
        time.sleep(0.05)
    raise AssertionError("the vectors were not stored")


@pytest.fixture(scope="module")
def probe_tenants(live, django_db_blocker):
    """Six tenants with the shipped semantic policy; committed, so the live server sees them."""
    with django_db_blocker.unblock():
        onboarded = [
            services.tenant_onboard(slug=f"probe-{n}", name=f"Probe {n}", tier="enterprise")
            for n in range(PROBE_TENANTS)
        ]
        for onboarding in onboarded:
            CachePolicy.objects.create(tenant=onboarding.tenant, mode=CacheMode.SEMANTIC)
        catalogue_changed()
    yield [onboarding.issued.plaintext for onboarding in onboarded]
    with django_db_blocker.unblock():
        delete_tenants(slug__startswith="probe-")
        catalogue_changed()


def test_a_probe_with_many_tenants_and_prompts_finds_no_cross_tenant_hit(probe_tenants, fresh):
    """Each tenant asks the same prompts and rewordings of them, concurrently: every tenant's first
    answer to each is a MISS (its own), never another tenant's HIT or SEMANTIC; then its own entries
    serve it."""
    tag = uuid.uuid4().hex[:6]
    prompts = [f"How do I rotate the API key of project {tag}{n}?" for n in range(8)]
    reworded = [f"how do I rotate the API key of project {tag}{n}" for n in range(8)]

    async def ask_all(keys: list[str], asked: list[str]) -> list[list[str]]:
        async with httpx.AsyncClient(base_url=fresh.base_url, timeout=30) as http:

            async def one(key: str, prompt: str) -> str:
                body = {"model": "gpt-mock", "messages": [{"role": "user", "content": prompt}]}
                response = await http.post("/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
                assert response.status_code == 200, response.text
                return response.headers["x-catalyst-cache"]

            return await asyncio.gather(*(asyncio.gather(*(one(key, p) for p in asked)) for key in keys))

    first_tenant = asyncio.run(ask_all(probe_tenants[:1], prompts))
    others = asyncio.run(ask_all(probe_tenants[1:], prompts))
    stored_vectors(PROBE_TENANTS * len(prompts))  # stored after each response
    others_reworded = asyncio.run(ask_all(probe_tenants[1:], reworded))  # each one's own entries only
    everyone_again = asyncio.run(ask_all(probe_tenants, prompts))

    assert first_tenant == [["MISS"] * len(prompts)]
    assert others == [["MISS"] * len(prompts)] * (PROBE_TENANTS - 1)
    assert others_reworded == [["SEMANTIC"] * len(prompts)] * (PROBE_TENANTS - 1)
    assert everyone_again == [["HIT"] * len(prompts)] * PROBE_TENANTS
    assert upstream_calls(fresh) == PROBE_TENANTS * len(prompts)  # one answer per tenant and prompt
