"""Token counts: tiktoken-identical ids for OpenAI-family models, an estimate for the rest."""

from decimal import Decimal

import bpe_openai

from apps.catalogue.snapshot import ModelInfo, ProviderInfo
from apps.metering import tokens


def model(upstream: str, kind: str = "openai") -> ModelInfo:
    provider = ProviderInfo(1, "p", kind, "https://x.example", "", 5.0)
    zero = Decimal(0)
    return ModelInfo(
        1, upstream, provider, upstream, "chat", 128_000, 4_096, zero, zero, zero, 2, True, frozenset(), ()
    )


def test_the_bundled_tables_reproduce_tiktoken_ids():
    assert bpe_openai.get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert bpe_openai.get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]


def test_openai_family_models_are_counted_exactly_with_their_own_encoding():
    assert tokens.encoding_for(model("gpt-4o-mini")).name == "o200k_base"
    assert tokens.encoding_for(model("gpt-5-nano")).name == "o200k_base"
    assert tokens.encoding_for(model("o3-mini")).name == "o200k_base"
    assert tokens.encoding_for(model("gpt-4-turbo")).name == "cl100k_base"
    assert tokens.count_text(model("gpt-4o"), "hello world") == 2
    assert tokens.count_text(model("gpt-4o"), "<|endoftext|>") == 7  # special tokens are plain text here


def test_a_chat_prompt_counts_its_framing():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello world"}]

    # 3 to prime the reply; per message 3 + role + content: system(1) "Be brief."(3), user(1) "hello world"(2)
    assert tokens.prompt_tokens(model("gpt-4o"), messages) == 3 + (3 + 1 + 3) + (3 + 1 + 2)


def test_other_providers_get_the_documented_estimate():
    claude = model("claude-sonnet-4", kind="anthropic")

    assert tokens.encoding_for(claude) is None
    assert not tokens.is_exact(claude)
    assert tokens.count_text(claude, "x" * 10) == 3  # four characters per token, rounded up
    assert tokens.count_text(model("llama-3-70b", kind="openai_compatible"), "x" * 8) == 2


def test_a_text_longer_than_the_tokenizer_takes_is_counted_in_pieces_exactly():
    """A 3.9 MB message once made the tokenizer raise (a 500); pieces cut before a space add up."""
    encoding = bpe_openai.get_encoding("o200k_base")
    text = "The quick brown fox, jumps over 12 lazy dogs! " * 2_000

    assert tokens.exact_count(encoding, text, piece=5_000) == len(encoding.encode_ordinary(text))
    assert tokens.count_text(model("gpt-4o"), "word " * 780_000) == 780_001  # the trailing space is one more
    assert tokens.count_text(model("gpt-4o"), "x" * 3_900_000) > 0
