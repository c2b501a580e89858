"""Names of people, places, organisations and groups, from lists of real names (checks/lexicon.py)
and the words around them. No statistical model: ADR 0022.

- People: a capitalised first name with the capitalised words after it (surnames, initials,
  particles such as "van" or "de"); a surname, or an unknown word, followed by a surname or an
  initial; a first name or a surname standing alone where nothing says it is a place. A first name
  that is also an English word ("Will", "Rose", "Mark") stands alone only capitalised inside a
  sentence. Lower-case first names count when they are no English word ("silvana"). Cues name a
  person whatever the lists say: a speaker's label ("Alice: ..."), "my name is", "Dear", "Mr.",
  "Name:", "X's daughter", "X said", '"…," says X', a role ("Producer X", "Senator X"), "call me X".
  The other items of a list of four or more that is two-thirds names are names too.
- Not people: capitalised words before a street or company word ("Walter Road", "Smith Ltd"),
  after a house number or a place word ("Los Angeles"), before a house number ("Peter Zuidhove
  188"), and lists of surnames ("Barnett, Melton and Garcia", a company).
- Places: one to four words that name a place, longest first.
- Organisations: capitalised words ending in a company word, and those lists of surnames.
- Groups (NRP): nationalities and religions.
"""

from __future__ import annotations

import re

from . import Finding
from .lexicon import COMPANY_WORDS, STREET_WORDS, Lexicon, lexicon, word_set

ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP"})
# What "every entity" means. Organisations are found by their suffixes alone, and groups are rarely
# personal data: a rule gets them by naming them.
DEFAULT_ENTITIES = frozenset({"PERSON", "LOCATION"})
FULL_NAME_SCORE = 0.85  # a first name with a surname or an initial
CUE_SCORE = 0.9
ALONE_SCORE = 0.7  # a first name that is no English word, alone
WEAK_SCORE = 0.6  # a surname alone, an ambiguous first name inside a sentence, a lower-case name
PLACE_SCORE = 0.8
ORGANIZATION_SCORE = 0.7

_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*[^\W\d_])?\.?")
_NAME = r"[A-Z][\w'’-]+(?:[ \t]+[A-Z]\.?(?!\w))?(?:[ \t]+(?:van |de |da |von |del |di |le |la )?[A-Z][\w'’-]+){0,2}"
_ROLES = word_set(  # a role before a name: "Producer Liviana Palerma", "Senator Smith", "Coach Taylor"
    "producer director senator president governor mayor professor judge coach captain officer detective sergeant "
    "minister chancellor editor author singer actor actress artist writer chef nurse pastor reverend uncle aunt "
    "auntie grandma grandpa ceo cfo cto founder rev gen col lt sgt capt gov sen rep"
)
_CUES = tuple(
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        rf"^\s*>?\s*({_NAME})\s*:\s*[\"“]",  # a speaker's line: Alice: "Who are you?"
        rf"(?i:\bmy name is|\bi am|\bi'm|\bcalled|\bnamed|\bdear|\bhi|\bhello|\bsincerely,?|\bregards,?)\s+({_NAME})",
        rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam|Mx)\.?\s+({_NAME})",
        rf"(?i:\bname|\bbilling address|\bshipping address|\bcustomer|\bpatient|\bemployee|\bcontact)\s*:\s*({_NAME})",
        rf"(?i:\b(?:last|first|full|middle|given|family|sur)\s?name\b)[^\n.?!:]{{0,20}}[?:]\s*({_NAME})",
        rf"\b({_NAME})'s\s+(?:daughter|son|wife|husband|mother|father|brother|sister|friend|boss|killers?|family|phone|email|address)",
        rf"\b({_NAME})\s+(?:shouted|said|says|asked|told|wrote|replied|called|lives|lived|was born|explained|explains"
        rf"|added|recalled|recalls|admitted|insisted)\b",
        rf"[,.!?][\"”]\s+(?:says|said|explains|explained|adds|added|recalls|recalled|insists|insisted)\s+({_NAME})\b",  # "…," says X
        rf"\b(?i:call me|known as|goes by)\s+({_NAME})",
        rf"\b(?:shouted at|said to|asked|told|thanks|thank you,?|married|met)\s+({_NAME})\b",
        rf"\b(?:tribute to|directed by|written by|features|featuring|starring|my (?:kid|son|daughter|wife|husband|friend))\s*:?\s+({_NAME})",
        rf"\b(?:add|remove)\s+({_NAME})\s+(?:as|from)\b",
    )
)
_ROLE_CUE = re.compile(rf"\b(?i:{'|'.join(sorted(_ROLES))})\.?\s+({_NAME})")  # run where a role word is
_NOT_NAMES = frozenset({
    "the", "a", "an", "this", "that", "you", "your", "my", "our", "we", "i", "he", "she", "they", "it", "is", "what",
    "who", "why", "how", "when", "where", "there", "here", "yes", "no", "ok", "okay", "hey", "thanks", "please",
    "name", "address", "note", "question", "answer", "subject", "re", "fwd", "hi", "hello", "yeah", "yep",
    "sure", "well", "oh", "um", "sorry", "great", "good", "nice", "cool", "i'm", "i’m",
})  # fmt: skip
_ADDRESS = re.compile(
    r"\d|\b(?:strasse|straße|street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|via|rue|calle|"
    r"laan|straat|gasse|weg|ul|u|apt|suite|box|plaza|square|sq)\b\.?",
    re.IGNORECASE,
)
_PARTICLES = word_set("van de da von del di le la der den ten ter du dos das bin al el y st mc mac")
_PLACE_WORDS = word_set(  # a capitalised word before a name that makes it a place: "Los Angeles", "Port Walter"
    "los las san santa santo são st saint port fort mount lake cape new north south east west upper lower great "
    "little point el la le rue via ul calle cite cité avenida piazza"
)
_LOCATED = word_set("in to from at near for of city visit visited")  # "flew to Coles": a place
_NATIONALITIES = word_set(
    "english british french german danish dutch swedish norwegian finnish polish czech slovak hungarian italian "
    "spanish portuguese greek turkish russian ukrainian american canadian mexican brazilian argentinian chilean "
    "chinese japanese korean indian pakistani irish scottish welsh swiss austrian belgian icelandic croatian "
    "serbian bosnian slovenian romanian bulgarian albanian australian african european asian arab arabic israeli "
    "iranian iraqi egyptian nigerian kenyan latin hispanic jewish muslim christian catholic protestant buddhist "
    "hindu sikh thai vietnamese filipino indonesian malaysian latvian lithuanian estonian georgian armenian cuban "
    "peruvian colombian venezuelan"
)
_THEN_A_PLACE = re.compile(r",\s*[A-Z]")
_AND_SONS = re.compile(r"\s+(?:and|&)\s+(?:Sons|Daughters|Co\b|Partners|Associates)")
_HOUSE_NUMBER_BEFORE = re.compile(r"\b\d{1,5}[a-zA-Z]?\s+(?:[A-Z][\w.]*\s+){0,2}$")
_HOUSE_NUMBER_AFTER = re.compile(r" \d{1,4}\b(?![\d/:-]|\.\d)")
# Endings that make a word a surname in the languages they come from: Slavic (-ski, -ova, -ović),
# Nordic (-sson, -sen, -dóttir, -nen), Romanian, Greek, Ukrainian, Georgian, Armenian, Turkish.
_SURNAME_ENDING = re.compile(
    r"(?:ski|ska|cki|cka|wicz|ević|ović|vić|ić|ov|ova|ová|ev|eva|yev|yeva|ovich|sson|sen|dóttir|dottir|nen|escu"
    r"|opoulos|akis|idis|enko|chuk|shvili|dze|yan|oğlu)$"
)
_LIST = re.compile(r"(?:[A-Z][\w'’-]+,\s+)+(?:[A-Z][\w'’-]+,?\s+)?(?:and|&)\s+[A-Z][\w'’-]+")


def _core(word: str) -> str:
    """A word without its full stop or possessive: "Reed's" -> "Reed", "J." -> "J"."""
    word = word.rstrip(".")
    return word[:-2] if word.endswith(("'s", "’s")) else word


class _Text:
    """A text's words with what the rules ask of them."""

    def __init__(self, text: str, words: Lexicon) -> None:
        self.text, self.lex = text, words
        self.tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        self._cores = [_core(word) for _, _, word in self.tokens]
        self._capitalised = [word[0].isupper() and not (len(word) > 2 and word.rstrip(".").isupper())
                             for _, _, word in self.tokens]  # fmt: skip

    def core(self, i: int) -> str:
        return self._cores[i] if i < len(self._cores) else ""

    def capitalised(self, i: int) -> bool:
        return i < len(self._capitalised) and self._capitalised[i]

    def initial(self, i: int) -> bool:
        core = self.core(i)
        return len(core) == 1 and core.isupper()

    def joined(self, i: int) -> bool:
        """The next word follows this one after a single space."""
        return i + 1 < len(self.tokens) and self.text[self.tokens[i][1] : self.tokens[i + 1][0]] == " "

    def starts_sentence(self, i: int) -> bool:
        before = self.text[: self.tokens[i][0]].rstrip(" \t\"'“(«>")
        return not before or before[-1] in ".!?:\n;" or (i > 0 and self.tokens[i - 1][2].endswith("."))

    def english(self, word: str) -> bool:
        lower = word.lower()
        return lower in self.lex.words or lower in self.lex.stop_words or lower in _NATIONALITIES

    def english_form(self, word: str) -> bool:
        """An English word or a plural or past form of one ("Stripes", "Killed")."""
        lower = word.lower()
        if self.english(lower):
            return True
        stems = [lower[:-1], lower[:-2], lower[:-3] + "y", lower[:-2] + "e"] if len(lower) > 4 else []
        return lower.endswith(("s", "ed", "ing")) and any(stem in self.lex.words for stem in stems)

    def surname_like(self, word: str) -> bool:
        return len(word) > 4 and bool(_SURNAME_ENDING.search(word)) and not self.english_form(word)

    def known(self, word: str) -> bool:
        """A first name or a surname that is no common word of another kind."""
        lower = word.lower()
        return (word in self.lex.first_names or word in self.lex.surnames) and not (
            lower in self.lex.stop_words or lower in _NATIONALITIES or word.casefold() in self.lex.countries
        )

    def part(self, i: int) -> bool:
        """Can this word continue a name?"""
        core = self.core(i)
        if self.initial(i):
            return True
        return (
            self.capitalised(i)
            and (self.known(core) or not (self.english_form(core) or core.casefold() in self.lex.places))
            and core.lower() not in STREET_WORDS
            and core.lower() not in COMPANY_WORDS
        )


def _people(t: _Text) -> list[Finding]:
    found: list[Finding] = []
    lex, tokens = t.lex, t.tokens
    i = 0
    while i < len(tokens):
        start, _, word = tokens[i]
        core = t.core(i)
        if word.islower() and len(core) >= 4 and core.title() in lex.first_names and not t.english(core):
            j = i + 1 if t.joined(i) and tokens[i + 1][2].islower() and t.core(i + 1).title() in lex.surnames \
                and not t.english(t.core(i + 1)) else i  # fmt: skip
            found.append(Finding("PERSON", start, tokens[j][0] + len(t.core(j)), WEAK_SCORE))
            i = j + 1
            continue
        after = t.core(i + 1)
        unknown_first = (
            t.capitalised(i) and not t.known(core) and not t.english_form(core) and t.joined(i)
            and t.capitalised(i + 1)
            and (t.initial(i + 1) or t.surname_like(after) or (after in lex.surnames and after not in lex.first_names
                                                               and not t.english_form(after)))
        )  # fmt: skip
        if not t.capitalised(i) or not (t.known(core) or unknown_first):
            i += 1
            continue
        j = i
        while t.joined(j):
            k = j + 1
            while t.core(k).lower() in _PARTICLES and t.joined(k) and k < j + 3:
                k += 1  # "van der"
            if k > j + 1 and t.part(k):
                j = k
            elif t.part(j + 1) and (not tokens[j][2].endswith(".") or t.initial(j)):
                j += 1
            else:
                break
        while j > i and t.initial(j):
            j -= 1  # an initial ends no name ("København K")
        kind = _person_kind(t, i, j)
        if kind is not None:
            found.append(Finding("PERSON", start, tokens[j][0] + len(t.core(j)), kind))
        i = j + 1
    return found


def _person_kind(t: _Text, i: int, j: int) -> float | None:
    """The score of the words i..j as a person, or None when they are something else."""
    lex, tokens, text = t.lex, t.tokens, t.text
    start, end = tokens[i][0], tokens[j][0] + len(t.core(j))
    core = t.core(i)
    after = t.core(j + 1).lower() if j + 1 < len(tokens) else ""
    before = t.core(i - 1) if i > 0 else ""
    if (after in STREET_WORDS or after in COMPANY_WORDS) and t.capitalised(j + 1):
        return None  # "Walter Road", "Smith Ltd"
    if _AND_SONS.match(text, end):
        return None  # "Thomas and Sons"
    if before.lower() in _PLACE_WORDS and t.capitalised(i - 1) and not t.starts_sentence(i):
        return None  # "Los Angeles", "Point Walter"
    if _HOUSE_NUMBER_BEFORE.search(text[max(0, start - 24) : start]) or _HOUSE_NUMBER_AFTER.match(text[end : end + 8]):
        return None  # "9543 1819 St. John Street", "Peter Zuidhove 188"
    if _surname_list(t, start, end, core):
        return None
    if j > i:
        return FULL_NAME_SCORE if not all(t.english(t.core(k)) for k in range(i, j + 1)) else None
    located = i > 0 and t.core(i - 1).lower() in _LOCATED
    place = core.casefold() in lex.places
    if place and (located or _THEN_A_PLACE.match(text, end)):
        return None  # "flew to Paris", "Sydney, Australia"
    if core in lex.first_names and not t.english(core):
        return ALONE_SCORE
    inside = not t.starts_sentence(i) and not (i > 0 and t.capitalised(i - 1))
    alone = (
        core in lex.widespread_first_names
        or t.surname_like(core)
        or (core in lex.surnames and not t.english_form(core) and not place)
    )
    if inside and not located and core.lower() not in lex.stop_words and alone:
        return WEAK_SCORE
    return None


def _surname_list(t: _Text, start: int, end: int, core: str) -> bool:
    """Part of "Barnett, Melton and Garcia": surnames listed, a company's name, not people."""
    for match in _LIST.finditer(t.text, max(0, start - 60), min(len(t.text), end + 60)):
        if match.start() <= start and end <= match.end():
            listed = re.findall(r"[A-Z][\w'’-]+", match.group())
            return _firm(t.lex, listed) or (
                len(listed) <= 3 and core not in t.lex.first_names and _first_names_only(t.lex, listed) == 0
            )
    return False


def _firm(lex: Lexicon, listed: list[str]) -> bool:
    """Three surnames listed, fewer than half of them first names only: a firm's name."""
    return (
        len(listed) == 3 and all(x in lex.surnames for x in listed) and _first_names_only(lex, listed) * 2 < len(listed)
    )


def _first_names_only(lex: Lexicon, listed: list[str]) -> int:
    return sum(x in lex.first_names and x not in lex.surnames for x in listed)


def _places(t: _Text) -> list[Finding]:
    found, tokens, i = [], t.tokens, 0
    while i < len(tokens):
        if not tokens[i][2][0].isupper() or t.core(i).casefold() not in t.lex.place_starts:
            i += 1
            continue
        for length in range(min(4, len(tokens) - i), 0, -1):
            start, end = tokens[i][0], tokens[i + length - 1][1]
            phrase = t.text[start:end].rstrip(".")
            if "\n" not in phrase and phrase.casefold() in t.lex.places:
                found.append(Finding("LOCATION", start, start + len(phrase), PLACE_SCORE))
                i += length
                break
        else:
            i += 1
    return found


_COMPANY = re.compile(
    r"\b(?:[A-Z][\w&'’-]*\s+){1,4}(?:&\s+|and\s+)?(?i:" + "|".join(sorted(COMPANY_WORDS, key=len, reverse=True)) +
    r")\b\.?"
)  # fmt: skip


def _organisations(t: _Text) -> list[Finding]:
    found = [Finding("ORGANIZATION", m.start(), m.end(), ORGANIZATION_SCORE) for m in _COMPANY.finditer(t.text)]
    for match in _LIST.finditer(t.text):
        if _firm(t.lex, re.findall(r"[A-Z][\w'’-]+", match.group())):
            found.append(Finding("ORGANIZATION", match.start(), match.end(), ORGANIZATION_SCORE))
    return found


def _groups(t: _Text) -> list[Finding]:
    return [
        Finding("NRP", s, s + len(w.rstrip(".")), PLACE_SCORE)
        for s, _, w in t.tokens
        if w[:1].isupper() and w.rstrip(".").lower() in _NATIONALITIES
    ]


def _cued(t: _Text) -> list[Finding]:
    found = []
    roles = any(core.lower() in _ROLES for core in t._cores)
    for cue in (*_CUES, _ROLE_CUE) if roles else _CUES:
        for match in cue.finditer(t.text):
            name = match.group(1)
            if name.lower() in _NOT_NAMES or _ADDRESS.search(name):
                continue
            words, start = name.split(), match.start(1)
            if len(words) > 1 and words[0].rstrip(".").lower() in _ROLES:  # "Coach Taylor said": the role is no name
                start = match.start(1) + name.index(words[1], len(words[0]))
                words = words[1:]
            if all(t.english_form(w) and not t.known(w) for w in words):
                continue  # "Statement:", "Hello World", "called Deep Speech"
            found.append(Finding("PERSON", start, match.end(1), CUE_SCORE))
    return found


# An enumeration of single words: "Gaetane, Hannah, Anthony, Derek, Anna and Andrew"
_ENUMERATION = re.compile(r"\b(?:[^\W\d_][\w'’-]*,\s+){2,}[^\W\d_][\w'’-]*,?\s+(?:and|&)\s+[^\W\d_][\w'’-]*")
_ITEM = re.compile(r"[^\W\d_][\w'’-]*")


def _listed_with(t: _Text, people: list[Finding]) -> list[Finding]:
    """The other items of a list of four or more whose items are mostly people: a name the lists
    do not hold ("Gaetane"), or one that is also a word ("Anna", "chad"), among names."""
    found = []
    if t.text.count(",") < 2:
        return found
    for match in _ENUMERATION.finditer(t.text):
        items = [m for m in _ITEM.finditer(t.text, match.start(), match.end()) if m.group() != "and"]
        if len(items) < 4:
            continue
        named = [any(p.start <= m.start() and m.end() <= p.end for p in people) for m in items]
        if sum(named) * 3 < len(items) * 2:  # two thirds at least
            continue
        found += [Finding("PERSON", m.start(), m.end(), WEAK_SCORE) for m, is_named in zip(items, named, strict=True)
                  if not is_named and m.group().lower() not in t.lex.stop_words]  # fmt: skip
    return found


def may_be_name(word: str) -> bool:
    """Could this capitalised word begin a name? (A stream holds it until the next word is known.)"""
    t = _Text(word, lexicon())
    return bool(t.tokens) and (t.known(word) or not t.english_form(word))


def find(text: str, entities: frozenset[str] = frozenset(), threshold: float = 0.5) -> list[Finding]:
    wanted = entities & ENTITIES if entities else DEFAULT_ENTITIES
    if not wanted:
        return []
    t = _Text(text, lexicon())
    found: list[Finding] = []
    if "PERSON" in wanted:
        people = _cued(t) + _people(t)
        found += people + _listed_with(t, people)
    if "LOCATION" in wanted:
        found += _places(t)
    if "ORGANIZATION" in wanted:
        found += _organisations(t)
    if "NRP" in wanted:
        found += _groups(t)
    # Longest first where they overlap; a cue or a person beats a place of the same extent.
    rank = {"PERSON": 0, "ORGANIZATION": 1, "LOCATION": 2, "NRP": 3}
    found = sorted((f for f in found if f.score >= threshold),
                   key=lambda f: (f.start, -(f.end - f.start), rank[f.type], -f.score))  # fmt: skip
    kept: list[Finding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept
