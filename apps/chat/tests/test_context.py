"""What a chat message sends upstream: newest turns within the budget, the summary first."""

from __future__ import annotations

from apps.chat import context


def words(text: str) -> int:
    return len(text.split())


HISTORY = [
    ("user", "one two three four five"),  # 5 words + 4 framing = 9
    ("assistant", "six seven eight"),  # 7
    ("user", "nine ten"),  # 6
]


def test_every_turn_is_sent_when_it_fits():
    assert context.build(HISTORY, "", 100, words) == [{"role": r, "content": c} for r, c in HISTORY]


def test_the_oldest_turns_are_dropped_first_and_whole():
    assert context.build(HISTORY, "", 13, words) == [
        {"role": "assistant", "content": "six seven eight"},
        {"role": "user", "content": "nine ten"},
    ]
    assert context.build(HISTORY, "", 12, words) == [{"role": "user", "content": "nine ten"}]


def test_the_last_turn_is_sent_even_alone_over_budget():
    assert context.build(HISTORY, "", 1, words) == [{"role": "user", "content": "nine ten"}]


def test_the_summary_comes_first_and_counts_against_the_budget():
    summary = "they counted to five"
    built = context.build(HISTORY, summary, words(context.SUMMARY_PREFIX + summary) + 13, words)
    assert built == [
        {"role": "system", "content": context.SUMMARY_PREFIX + summary},
        {"role": "assistant", "content": "six seven eight"},
        {"role": "user", "content": "nine ten"},
    ]
