"""The trained model of offensive language: the package's own probabilities, read without
scikit-learn at run time, and words that name a group weighing nothing."""

from __future__ import annotations

import pytest
from profanity_check import predict_prob

from apps.guardrails.checks import offensive, toxicity

PLAIN = [
    "Thanks for fixing the citation, the article reads much better now.",
    "This page sucks and so do you, get a life",
    "What kind of moron reverts a correct edit twice?",
    "Please review the pull request before Friday.",
    "shut up you fucking loser",
    "",
    "Ünïcödé wörds, 123 and _under_scores_",
]


@pytest.mark.parametrize("text", PLAIN)
def test_the_probability_is_the_packages_own_for_text_that_names_no_group(text):
    assert offensive.probability(text) == pytest.approx(float(predict_prob([text])[0]), abs=1e-12)


IDENTITIES = ["gay", "transgender", "Black", "Jewish", "Muslim", "Mexican", "deaf", "queer", "homosexual", "Arab"]
TEMPLATES = ["I am a {} person.", "{} people deserve equal rights.", "My neighbour is {}.", "She is proud to be {}."]


def test_naming_a_group_is_not_offensive_though_the_package_says_it_is():
    texts = [template.format(identity) for template in TEMPLATES for identity in IDENTITIES]

    assert sum(p >= 0.5 for p in predict_prob(texts)) >= 8  # the bias this corrects
    assert [text for text in texts if offensive.probability(text) >= 0.5] == []


def test_a_slur_or_an_insult_beside_a_group_still_counts():
    assert offensive.probability("gay people are disgusting freaks") >= 0.5
    assert offensive.probability("shut up, you stupid muslim") >= 0.5


def test_the_words_that_carry_the_score_are_named_where_they_are():
    text = "This page sucks and so do you, get a life"
    score, found = offensive.score(text)

    assert score >= 0.9
    assert [(f.type, text[f.start : f.end]) for f in found] == [("OFFENSIVE", "sucks")]
    assert offensive.score("Please review the pull request before Friday.")[1] == []


def test_toxicity_is_the_higher_of_the_model_and_the_lexicon():
    model_only = "This page sucks and so do you, get a life"
    assert toxicity._lexicon(model_only)[0] == 0.0
    assert toxicity.score(model_only)[0] == offensive.score(model_only)[0]

    threat = "I know where you park. Watch your back."
    assert toxicity.score(threat)[0] == max(toxicity._lexicon(threat)[0], offensive.probability(threat)) >= 0.5
    assert "THREAT" not in [f.type for f in offensive.score(threat)[1]]
    assert "THREAT" in [f.type for f in toxicity.score(threat)[1]]


REPORT = (
    "The quarterly report shows steady growth across all regions. The team shipped the new billing "
    "service on time, support tickets fell by a fifth, and the migration to the new database finished "
    "without downtime. Next quarter we will focus on onboarding and on the mobile app. "
)


def test_one_insult_in_a_long_text_is_read_in_its_passage_not_diluted_by_the_rest():
    text = REPORT * 3 + "Kiss my ass, this page sucks and so do you. " + REPORT * 3

    assert offensive.probability(text) < 0.1  # the whole text, as the package would score it
    score, found = offensive.score(text)
    assert score >= 0.5
    assert [text[f.start : f.end] for f in found] == ["ass", "sucks"]
    assert offensive.score(REPORT * 7)[0] < 0.1


def test_a_stream_is_read_with_what_it_sent_before():
    # alone, a few words get the extreme scores the model gives a few words; after a paragraph, a
    # plain sentence is read in its passage, and a plain insult still counts
    assert (
        offensive.score("sentenced to life in prison", before=REPORT)[0]
        < 0.5
        <= offensive.score("sentenced to life in prison")[0]
    )
    assert offensive.score("Your edits suck ass, you dick.", before=REPORT)[0] >= 0.5


def test_a_streamed_insult_the_lexicon_does_not_know_is_blocked_before_its_word_leaves():
    from apps.guardrails.engine import Blocked, OutputGuard, Redactor
    from apps.guardrails.policy import Rule, Rules

    guard = OutputGuard(Rules({("toxicity", "output"): Rule("toxicity", "output", "block", 0.5)}), Redactor())
    sent = []
    with pytest.raises(Blocked):
        for word in (REPORT + "Honestly, kiss my ass, this page sucks and so do you.").split(" "):
            sent.append(guard.feed(word + " "))
    assert "Next quarter" in "".join(sent) and "ass" not in "".join(sent).split()


def test_a_long_plain_answer_streamed_word_by_word_is_never_blocked():
    from apps.guardrails.engine import OutputGuard, Redactor
    from apps.guardrails.policy import Rule, Rules

    guard = OutputGuard(Rules({("toxicity", "output"): Rule("toxicity", "output", "block", 0.5)}), Redactor())
    answer = REPORT * 4
    sent = "".join(guard.feed(word + " ") for word in answer.split(" ")) + guard.flush()
    assert sent.split() == answer.split()


def test_words_of_other_languages_that_look_like_english_abuse_are_not_read_as_english():
    dutch = "Minuut reizen lui groen zwak. Slapen hoe gebruiken hal."
    german = "Sich Haus Himmel die neben. Dick oft hier."
    for text in (dutch, german):
        assert predict_prob([text])[0] >= 0.5  # the package reads them as English
        assert offensive.score(text)[0] == 0.0
