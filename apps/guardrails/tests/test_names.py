"""The names check: people, places, organisations and groups found from lists of real names and
the words around them, and what it leaves alone."""

from __future__ import annotations

import pytest

from apps.guardrails.checks import names


def found(text: str, entities: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in names.find(text, entities)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please refund Maria Lopez today.", [("PERSON", "Maria Lopez")]),
        ("The form was signed by John A. Leiva yesterday.", [("PERSON", "John A. Leiva")]),
        ("Ask Ravil G Yefimov, he knows.", [("PERSON", "Ravil G Yefimov")]),  # an unknown first name before an initial
        ("Our contact is Jan van der Berg.", [("PERSON", "Jan van der Berg")]),
        ("Darren is a very sympathetic person.", [("PERSON", "Darren")]),  # a first name that is no English word
        ("they had 3: silvana, kristina and caleb.", [("PERSON", n) for n in ("silvana", "kristina", "caleb")]),
        ("Mrs. Schwarz flew in on Sunday.", [("PERSON", "Schwarz")]),  # a cue: the title
        ("I met Mark at the station.", [("PERSON", "Mark")]),  # an English word, capitalised mid-sentence
        ("Reed's daughter called.", [("PERSON", "Reed")]),  # a cue: "X's daughter"
        ("Charge 4111 1111 1111 1111 for Maria Lopez.", [("PERSON", "Maria Lopez")]),  # a number, then no address
    ],
)
def test_people_are_found_by_their_names_and_cues(text, expected):
    assert found(text, frozenset({"PERSON"})) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Will you mark the grace period in May?",  # first names that are English words, used as words
        "Send it to 50 Point Walter Road by Friday.",  # an address
        "The bus station is on Peter Zuidhove 188.",  # a street with a house number
        "I used to work at Smith Ltd.",  # a company
        "Barnett, Melton and Garcia won the case.",  # a firm named after its partners
        "It serves great Danish food.",  # a nationality
        "The report is due next Monday.",
    ],
)
def test_words_names_are_made_of_are_not_people_where_they_mean_something_else(text):
    assert [kind for kind, _ in found(text, frozenset({"PERSON"}))] == []


def test_places_are_the_longest_name_that_matches_and_a_name_that_is_a_place_is_a_person():
    text = "She said Martin moved from New Zealand to Los Angeles, then to Paris."

    assert found(text) == [
        ("PERSON", "Martin"), ("LOCATION", "New Zealand"), ("LOCATION", "Los Angeles"), ("LOCATION", "Paris"),
    ]  # fmt: skip


def test_organisations_and_groups_are_found_only_when_a_rule_names_them():
    text = "Anna Novak of Fernandez Holdings met the Danish team."

    assert found(text) == [("PERSON", "Anna Novak")]
    assert found(text, frozenset({"ORGANIZATION", "NRP"})) == [
        ("ORGANIZATION", "Fernandez Holdings"), ("NRP", "Danish"),
    ]  # fmt: skip


def test_text_without_capitals_or_names_costs_a_scan_and_finds_nothing():
    assert found("how do i sort a list of numbers in python?") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Prices will fall," says Oyelaran.', [("PERSON", "Oyelaran")]),  # a name no list holds, after a quote
        ("Producer Liviana Palerma explained the plan.", [("PERSON", "Liviana Palerma")]),  # a role before it
        ("Coach Brannigan added two drills.", [("PERSON", "Brannigan")]),
        ("Sometimes people call me Csanád.", [("PERSON", "Csanád")]),
    ],
)
def test_a_name_no_list_holds_is_found_by_what_is_said_around_it(text, expected):
    assert found(text) == expected


def test_a_list_mostly_of_names_makes_its_other_items_names_too():
    text = "They had 6: Gaetane, Hannah, Anthony, Derek, Anna and Andrew."
    assert [name for kind, name in found(text) if kind == "PERSON"] == [
        "Gaetane", "Hannah", "Anthony", "Derek", "Anna", "Andrew",
    ]  # fmt: skip
    # a list of things with a name or two in it makes nothing else a name
    assert found("We packed apples, pears, plums, Grace and figs.") == [("PERSON", "Grace")]
