"""Anthropic's cache_control marks reach Anthropic (system and user blocks) and are left out for OpenAI."""

from apps.providers.anthropic_adapter import translate_messages
from apps.providers.openai_adapter import _without_cache_marks

MARK = {"type": "ephemeral"}
MESSAGES = [
    {"role": "system", "content": [{"type": "text", "text": "manual", "cache_control": MARK}]},
    {
        "role": "user",
        "content": [{"type": "text", "text": "doc", "cache_control": MARK}, {"type": "text", "text": "q"}],
    },
]


def test_anthropic_gets_system_blocks_and_user_blocks_with_their_marks():
    system, messages = translate_messages(MESSAGES)

    assert system == [{"type": "text", "text": "manual", "cache_control": MARK}]
    assert messages == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "doc", "cache_control": MARK}, {"type": "text", "text": "q"}],
        }
    ]


def test_without_marks_the_system_prompt_stays_a_string():
    system, _ = translate_messages([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])

    assert system == "be brief"


def test_openai_gets_the_same_parts_without_marks_and_unmarked_messages_untouched():
    plain = [{"role": "user", "content": "hi"}]

    assert _without_cache_marks(plain) is plain
    assert _without_cache_marks(MESSAGES) == [
        {"role": "system", "content": [{"type": "text", "text": "manual"}]},
        {"role": "user", "content": [{"type": "text", "text": "doc"}, {"type": "text", "text": "q"}]},
    ]
    assert MESSAGES[0]["content"][0]["cache_control"] == MARK  # the request itself is not changed
