"""The `prose` and `min_tokens` behaviours: sentences, paragraphs and Markdown, of a length the conversation picks."""

from __future__ import annotations

import re

HELLO = [{"role": "user", "content": "Hello, world!"}]
DEMO = "gpt-mock@prose=1,min_tokens=40,tokens=260"
PROMPTS = [[{"role": "user", "content": f"Question {number}?"}] for number in range(40)]
HELLO_PROSE_30 = (
    "Each stream retries each failure exactly. Each request retries a deadline, and the gateway retries the latency"
    " under load, and every tenant measures the answer at once.\n\nThe model holds."
)
HELLO_WORDS = (
    "Model load every latency exactly latency surprises under while measure drawn mock model plain latency networks"
    " words from the under"
)
SENTENCE = re.compile(r"[A-Z][^.?!]*[.?!]")  # capitalised, ending with its mark; inner marks only in code
BOLD = re.compile(r"\*\*[a-z][a-z ]*[a-z]\*\*")
TOKEN = re.compile(r"\s*\S+")


def _answer(client, model: str, messages: list[dict], **params) -> tuple[str, str, int]:
    completion = client.chat.completions.create(model=model, messages=messages, **params)
    choice = completion.choices[0]
    return choice.message.content, choice.finish_reason, completion.usage.completion_tokens


def _prose_paragraphs(text: str) -> list[str]:
    """The paragraphs made of sentences: not list items, code blocks, or the lead-in lines ending with ':'."""
    return [
        paragraph
        for paragraph in text.split("\n\n")
        if not paragraph.startswith(("-", "```")) and not paragraph.endswith(":")
    ]


def test_a_prose_answer_has_sentences_and_paragraphs_and_is_exactly_tokens_long(mock):
    text, finish, tokens = _answer(mock.openai(), "gpt-mock@prose=1,tokens=30", HELLO)

    assert text == HELLO_PROSE_30
    assert (finish, tokens, len(TOKEN.findall(text))) == ("stop", 30, 30)


def test_every_prose_paragraph_is_whole_capitalised_sentences_across_prompts(mock):
    client = mock.openai()
    texts = [_answer(client, DEMO, messages)[0] for messages in PROMPTS]

    for text in texts:
        assert "\n\n" in text
        assert text[-1] in ".?!"
        for paragraph in _prose_paragraphs(text):
            assert SENTENCE.sub("", paragraph).strip() == "", paragraph
    ends = {sentence[-1] for text in texts for sentence in SENTENCE.findall(text)}
    assert ends == {".", "?", "!"}


def test_markdown_shows_up_now_and_then_but_not_everywhere(mock):
    client = mock.openai()
    texts = [_answer(client, DEMO, messages)[0] for messages in PROMPTS]

    with_list = [text for text in texts if re.search(r"\n\n- [A-Z]\w+( \w+)+\n- ", text)]
    with_code = [text for text in texts if re.search(r"\n\n```(python|bash|json)\n.+\n```\n\n", text, re.DOTALL)]
    with_bold = [text for text in texts if BOLD.search(text)]

    assert 0 < len(with_list) < len(texts)
    assert 0 < len(with_code) < len(texts)
    assert 0 < len(with_bold) < len(texts)


def test_the_length_varies_between_min_tokens_and_tokens_and_repeats_per_conversation(mock):
    client = mock.openai()
    lengths = [_answer(client, DEMO, messages)[2] for messages in PROMPTS]
    again = [_answer(client, DEMO, messages)[2] for messages in PROMPTS[:5]]

    assert all(40 <= length <= 260 for length in lengths)
    assert len(set(lengths)) > 30
    assert max(lengths) - min(lengths) > 150
    assert again == lengths[:5]


def test_a_prose_answer_is_deterministic_and_ignores_where_the_behaviour_came_from(mock):
    client = mock.openai()
    first = _answer(client, DEMO, HELLO)
    again = _answer(client, DEMO, HELLO)
    by_header = _answer(
        client, "gpt-mock", HELLO, extra_headers={"X-Mock-Behaviour": "prose=1,min_tokens=40,tokens=260"}
    )
    mock.script("gpt-mock", [{"prose": True, "min_tokens": 40, "tokens": 260}])
    by_script = _answer(client, "gpt-mock", HELLO)
    other_model = _answer(client, "gpt-mock-mini@prose=1,min_tokens=40,tokens=260", HELLO)

    assert again == by_header == by_script == first
    assert other_model[0] != first[0]


def test_a_streamed_prose_answer_equals_the_whole_one_token_per_chunk(mock):
    client = mock.openai()
    whole, _, tokens = _answer(client, DEMO, HELLO)
    chunks = list(client.chat.completions.create(model=DEMO, messages=HELLO, stream=True))
    pieces = [chunk.choices[0].delta.content for chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    with mock.anthropic().messages.stream(
        model="claude-mock@prose=1,min_tokens=40,tokens=260", max_tokens=1000, messages=HELLO
    ) as stream:
        anthropic_pieces = list(stream.text_stream)
        anthropic_whole = stream.get_final_message().content[0].text

    assert "".join(pieces) == whole
    assert pieces == TOKEN.findall(whole)
    assert len(pieces) == tokens
    assert "".join(anthropic_pieces) == anthropic_whole
    assert anthropic_pieces == TOKEN.findall(anthropic_whole)


def test_max_tokens_cuts_a_prose_answer_to_its_first_tokens_with_finish_reason_length(mock):
    client = mock.openai()
    whole, _, tokens = _answer(client, DEMO, HELLO)
    cut = _answer(client, DEMO, HELLO, max_tokens=7)
    chunks = list(client.chat.completions.create(model=DEMO, messages=HELLO, stream=True, max_completion_tokens=7))
    roomy = _answer(client, DEMO, HELLO, max_tokens=tokens)
    anthropic_cut = mock.anthropic().messages.create(model=DEMO, max_tokens=7, messages=HELLO)

    assert cut == ("".join(TOKEN.findall(whole)[:7]), "length", 7)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == cut[0]
    assert chunks[-1].choices[0].finish_reason == "length"
    assert roomy == (whole, "stop", tokens)
    assert (anthropic_cut.stop_reason, anthropic_cut.usage.output_tokens) == ("max_tokens", 7)


def test_min_tokens_varies_plain_answers_too_and_keeps_their_words(mock):
    client = mock.openai()
    longest = _answer(client, "gpt-mock@tokens=260", HELLO)[0]
    varied, _, tokens = _answer(client, "gpt-mock@min_tokens=40,tokens=260", HELLO)

    assert 40 <= tokens <= 260
    assert varied == "".join(TOKEN.findall(longest)[:tokens])


def test_min_tokens_at_or_above_tokens_means_exactly_tokens(mock):
    client = mock.openai()

    assert _answer(client, "gpt-mock@prose=1,min_tokens=30,tokens=30", HELLO)[0] == HELLO_PROSE_30
    assert _answer(client, "gpt-mock@prose=1,min_tokens=90,tokens=30", HELLO)[0] == HELLO_PROSE_30


def test_the_default_answer_is_unchanged_plain_words(mock):
    client = mock.openai()
    chunks = list(client.chat.completions.create(model="gpt-mock", messages=HELLO, stream=True))

    assert _answer(client, "gpt-mock", HELLO) == (HELLO_WORDS, "stop", 20)
    assert [chunk.choices[0].delta.content for chunk in chunks[1:-1]] == TOKEN.findall(HELLO_WORDS)
    assert _answer(client, "gpt-mock@prose=0,min_tokens=none", HELLO) == (HELLO_WORDS, "stop", 20)


def test_prose_leaves_tool_calls_and_the_answer_after_a_tool_result_alone(mock):
    client = mock.openai()
    tool = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    called = client.chat.completions.create(model=DEMO, messages=HELLO, tools=[tool])
    after = [*HELLO, {"role": "tool", "tool_call_id": "call_1", "content": "noon"}]
    plain_after = _answer(client, "gpt-mock@tokens=260", after)
    prose_after = _answer(client, DEMO, after)

    assert called.choices[0].finish_reason == "tool_calls"
    assert called.choices[0].message.tool_calls[0].function.arguments == "{}"
    assert prose_after == plain_after
    assert prose_after[0].startswith("Tool result: noon ")
    assert prose_after[2] == 260
