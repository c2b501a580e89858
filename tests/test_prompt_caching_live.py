"""Provider prompt caching through Catalyst: Anthropic cache_control marks reach the provider (from
/v1/messages and from OpenAI-format content parts), and the cached-input tokens the provider reports
are priced at the model's cached-input price, and the tokens written to the cache at its cache-write
price."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import anthropic
import openai
import pytest

from apps.catalogue.models import LlmModel
from apps.catalogue.snapshot import catalogue_changed
from apps.metering.models import UsageRecord

pytestmark = pytest.mark.django_db
MANUAL = "You answer questions about the Catalyst operations manual. " + "Section text. " * 400


def priced_cached_input(django_db_blocker, model: str, price: str, write: str | None = None):
    """The model's cached-input (and cache-write) price for a module's tests (committed, so the
    live server sees it)."""
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name=model).update(
            price_cached_input=Decimal(price), price_cache_write=Decimal(write) if write else None
        )
        catalogue_changed()
    yield Decimal(price)
    with django_db_blocker.unblock():
        LlmModel.objects.filter(name=model).update(price_cached_input=Decimal("0"), price_cache_write=None)
        catalogue_changed()


@pytest.fixture(scope="module")
def cached_price(live, django_db_blocker):
    yield from priced_cached_input(django_db_blocker, "claude-mock", "0.3", write=CACHE_WRITE_PRICE)


CACHE_WRITE_PRICE = "3.75"  # Anthropic's five-minute writes: 1.25 times claude-mock's input price (3)


def records(ids: list[str]) -> list[UsageRecord]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and UsageRecord.objects.filter(request_id__in=ids).count() < len(ids):
        time.sleep(0.05)
    return [UsageRecord.objects.get(request_id=request_id) for request_id in ids]


def test_a_marked_prefix_is_written_then_read_and_each_is_priced_at_its_own_price(fresh, cached_price):
    claude = anthropic.Anthropic(base_url=fresh.server.url, api_key=fresh.key, max_retries=0)
    manual = MANUAL + uuid.uuid4().hex  # a prefix no earlier test cached
    system = [{"type": "text", "text": manual, "cache_control": {"type": "ephemeral"}}]
    raws = [
        claude.messages.with_raw_response.create(
            model="claude-mock", max_tokens=50, system=system, messages=[{"role": "user", "content": question}]
        )
        for question in ("How do I rotate a key?", "How do I purge the cache?")
    ]
    first, second = (raw.parse() for raw in raws)
    first_record, second_record = records([raw.headers["x-request-id"] for raw in raws])

    assert second.usage.cache_read_input_tokens > 800  # the manual, read from the provider's cache
    assert first.usage.cache_read_input_tokens == 0
    assert second_record.tokens_cached == second.usage.cache_read_input_tokens
    assert first_record.tokens_cached == 0
    uncached = second_record.tokens_in - second_record.tokens_cached
    expected = uncached * Decimal(3) + second_record.tokens_cached * cached_price + second_record.tokens_out * 15
    assert second_record.cost_usd == (expected / 1_000_000).quantize(Decimal("0.00000001"))
    assert second_record.cost_usd < first_record.cost_usd
    # the first request wrote the manual to the cache: those tokens cost the write price, and say so
    written = first.usage.cache_creation_input_tokens
    assert written > 800 and second.usage.cache_creation_input_tokens == 0
    assert (first_record.tokens_cache_written, second_record.tokens_cache_written) == (written, 0)
    assert first_record.price_cache_write == Decimal(CACHE_WRITE_PRICE)
    plain = first_record.tokens_in - written
    expected = plain * Decimal(3) + written * Decimal(CACHE_WRITE_PRICE) + first_record.tokens_out * 15
    assert first_record.cost_usd == (expected / 1_000_000).quantize(Decimal("0.00000001"))
    assert first.usage.input_tokens == plain  # Anthropic's count: neither reads nor writes


def test_openai_format_parts_carry_the_mark_to_anthropic_and_a_gpt_model_still_answers(fresh):
    client = openai.OpenAI(base_url=fresh.base_url, api_key=fresh.key, max_retries=0)
    marked = [{"type": "text", "text": MANUAL + uuid.uuid4().hex, "cache_control": {"type": "ephemeral"}}]

    def ask(model: str, question: str):
        return client.chat.completions.create(
            model=model, max_tokens=20,
            messages=[{"role": "system", "content": marked}, {"role": "user", "content": question}],
        )  # fmt: skip

    first, second = ask("claude-mock", "Hi"), ask("claude-mock", "Hello")
    gpt = ask("gpt-mock", "Hi")  # the mark is left out for OpenAI (apps/providers/tests)

    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens > 800
    assert gpt.choices[0].message.content


@pytest.fixture(scope="module")
def gpt_cached_price(live, django_db_blocker):
    yield from priced_cached_input(django_db_blocker, "gpt-mock", "0.25")


def test_openais_automatic_prefix_cache_is_read_and_priced_as_cached_input(fresh, gpt_cached_price):
    client = openai.OpenAI(base_url=fresh.base_url, api_key=fresh.key, max_retries=0)
    manual = MANUAL + uuid.uuid4().hex
    raws = [
        client.chat.completions.with_raw_response.create(
            model="gpt-mock", messages=[{"role": "system", "content": manual}, {"role": "user", "content": question}]
        )
        for question in ("How do I rotate a key?", "How do I purge the cache?")
    ]
    first, second = (raw.parse() for raw in raws)
    first_record, second_record = records([raw.headers["x-request-id"] for raw in raws])

    assert first.usage.prompt_tokens_details.cached_tokens == 0
    assert second.usage.prompt_tokens_details.cached_tokens >= 1024  # the mock's rule: 1,024 + 128·k
    assert second.usage.prompt_tokens_details.cached_tokens % 128 == 0
    assert second_record.tokens_cached == second.usage.prompt_tokens_details.cached_tokens
    uncached = second_record.tokens_in - second_record.tokens_cached
    expected = uncached * Decimal(1) + second_record.tokens_cached * gpt_cached_price + second_record.tokens_out * 2
    assert second_record.cost_usd == (expected / 1_000_000).quantize(Decimal("0.00000001"))
    assert second_record.cost_usd < first_record.cost_usd
