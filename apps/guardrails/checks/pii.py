"""Personal data by pattern: Microsoft Presidio's recognisers, called one by one.

They find e-mail addresses, card numbers (Luhn), IBANs (checksum), IP addresses and national
ids, each under Presidio's entity name. Phone numbers are found as Presidio's recogniser finds
them, by Google's libphonenumber for its regions, but its matcher is run only where a number can
be. Presidio's AnalyzerEngine is not used: with its spaCy pipeline it takes 70 to 80 ms on a
2,000-character prompt here (ADR 0019). Names of people, places and organisations come from
checks/names.py.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from functools import lru_cache

from . import Finding, names
from .lexicon import STREET_WORDS

# Presidio scores a bare pattern low until its context is scored by the NLP pipeline; a number the
# recogniser has validated (Luhn, IBAN checksum, a phone number libphonenumber parses) is a finding.
VALIDATED_SCORE = 0.85
_VALIDATED = {"IP_ADDRESS": 0.95}  # "192.168.10.20" also parses as a phone number: the address wins
ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "UK_NINO",
    "IT_FISCAL_CODE", "ES_NIF", "IN_AADHAAR", "IN_PAN", "DE_TAX_ID", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE",
)  # fmt: skip
_lock = threading.Lock()


def _offline_tldextract() -> None:
    """Presidio's e-mail recogniser checks the domain with tldextract, which would fetch the public
    suffix list from the internet; use the snapshot inside the package instead."""
    import tldextract
    import tldextract.tldextract as extract

    extract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=1)
def _recognisers() -> tuple:
    with _lock:
        logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)  # not a line per recogniser loaded
        _offline_tldextract()
        from presidio_analyzer import predefined_recognizers as p

        kinds = (
            p.EmailRecognizer, p.CreditCardRecognizer, p.IbanRecognizer, p.IpRecognizer, p.UsSsnRecognizer,
            p.UkNinoRecognizer, p.ItFiscalCodeRecognizer, p.EsNifRecognizer, p.InAadhaarRecognizer,
            p.DeTaxIdRecognizer, p.PlPeselRecognizer, p.FiPersonalIdentityCodeRecognizer,
        )  # fmt: skip
        # The PAN's weakest pattern (score 0.01: any ten characters with four digits) looks ahead to
        # the end of the text from every position, half the recognisers' time on 2,000 characters.
        pan = p.InPanRecognizer()
        pan = p.InPanRecognizer(patterns=[pattern for pattern in pan.patterns if pattern.score >= 0.1])
        return (*(kind() for kind in kinds), pan)


def _validated(result, text: str) -> bool:
    """An IP address must parse as one; the others say whether their checksum held."""
    if result.entity_type == "IP_ADDRESS":
        try:
            ipaddress.ip_address(text[result.start : result.end])
        except ValueError:
            return False
        return True
    explanation = result.analysis_explanation
    return explanation is not None and bool(explanation.validation_result)


# What a text must hold for a recogniser to find anything in it, checked first (a recogniser's own
# patterns, with their look-arounds and validators, cost ten to fifty times more).
_MAY_HOLD = {
    "IP_ADDRESS": re.compile(r"\d\.\d{1,3}\.\d|:[0-9A-Fa-f]{0,4}:"),
    "IT_FISCAL_CODE": re.compile(r"[A-Za-z]{6}[\dLMNP-Vlmnp-v]{2}[A-Za-z]"),
    "UK_NINO": re.compile(r"[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]"),
    "IN_PAN": re.compile(r"[A-Za-z]{5}\d{4}[A-Za-z]"),
}


def patterns(text: str, entities: frozenset[str] = frozenset(), threshold: float = 0.5) -> list[Finding]:
    """The pattern entities alone, one finding per span (the highest score wins)."""
    found: list[Finding] = []
    # An e-mail address has an "@" and every other pattern entity a digit: text without them is
    # not scanned (most chat text has neither; the recognisers cost ~0.5 ms a message).
    has_at, has_digit = "@" in text, any(c.isdigit() for c in text)
    for recogniser in _recognisers():
        wanted = [e for e in recogniser.supported_entities if not entities or e in entities]
        wanted = [e for e in wanted if (has_at if e == "EMAIL_ADDRESS" else has_digit)]
        wanted = [e for e in wanted if e not in _MAY_HOLD or _MAY_HOLD[e].search(text)]
        if not wanted:
            continue
        for result in recogniser.analyze(text, wanted, None):
            validated = _validated(result, text)
            score = (
                max(result.score, _VALIDATED.get(result.entity_type, VALIDATED_SCORE)) if validated else result.score
            )
            if score >= threshold and not _inside_a_number(text, result.start, result.end):
                found.append(Finding(result.entity_type, result.start, result.end, round(score, 2)))
    if has_digit and (not entities or "PHONE_NUMBER" in entities):
        found += [f for f in _validated_phones(text) if f.score >= threshold]
    if has_digit:
        found += [f for f in _shaped(text, entities) if f.score >= threshold]
    if has_digit and (not entities or "IBAN_CODE" in entities) and threshold <= SHAPE_SCORE:
        found += _iban_shaped(text)
    return _without_overlaps(found)


_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})\d{2}")


@lru_cache(maxsize=1)
def _iban_formats() -> dict[str, re.Pattern[str]]:
    from presidio_analyzer.predefined_recognizers.generic.iban_patterns import regex_per_country

    return {country: re.compile(regex) for country, regex in regex_per_country.items()}


def _iban_shaped(text: str) -> list[Finding]:
    """Account numbers in their country's exact IBAN format whose check digits do not hold: an IBAN
    mistyped by a digit is still someone's account (Presidio drops them). The validated ones score
    higher and win where both are found."""
    found = []
    for start in _IBAN_START.finditer(text):
        form = _iban_formats().get(start.group(1))
        shaped = form.match(text, start.start()) if form else None
        if shaped:
            end = start.start() + len(shaped.group().rstrip())
            if end == len(text) or not text[end].isalnum():
                found.append(Finding("IBAN_CODE", start.start(), end, SHAPE_SCORE))
    return found


_DIGIT_RUN = re.compile(r"[+(]?\d[\d\s().\-/]*\d\)?")
_GROUP = re.compile(r"\d+")
_WINDOW = 24  # characters around a run of digits that libphonenumber's matcher looks at
# Presidio's phone regions, less Canada, whose numbers are the same plan as the US's. More regions
# (Europe's, Australia's) were tried: a random group of eight or nine digits is then valid somewhere
# more often than not, and the shapes below find those regions' numbers where words name them.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IL", "IN", "BR")


@lru_cache(maxsize=1)
def _numbering_plans() -> tuple:
    """Per region: its country code, what its national numbers look like (pattern and lengths) and
    the national prefix a number may start with."""
    from phonenumbers import PhoneMetadata

    plans = []
    for region in PHONE_REGIONS:
        plan = PhoneMetadata.metadata_for_region(region)
        lengths = set(plan.general_desc.possible_length) | set(plan.general_desc.possible_length_local_only or ())
        prefix = re.compile(plan.national_prefix_for_parsing) if plan.national_prefix_for_parsing else None
        plans.append((region, str(plan.country_code), re.compile(plan.general_desc.national_number_pattern),
                      frozenset(lengths), prefix))  # fmt: skip
    return tuple(plans)


def _may_be_national(digits: str, plan: tuple) -> bool:
    _, country_code, pattern, lengths, prefix = plan
    candidates = [digits]
    if prefix is not None and (found := prefix.match(digits)):
        candidates.append(digits[found.end() :])
    if digits.startswith(country_code):
        candidates.append(digits[len(country_code) :])
    return any(len(c) in lengths and pattern.fullmatch(c) for c in candidates)


def _validated_phones(text: str) -> list[Finding]:
    """The numbers libphonenumber validates, scored by how they are written. One written as a phone
    number (separators, a "+" or "00" prefix) or named as one by the words around it scores as a
    validated pattern; a bare run of digits that nothing names scores as a shape does (0.6), so a
    rule with a threshold above that leaves them out. A social security number, an ISBN, or a
    number labelled as something else ("order 123-456-7890") is not one."""
    found = []
    for start, end in _phone_numbers(text):
        value = text[start:end]
        if _SSN.fullmatch(value) or _inside_a_number(text, start, end) or _not_a_phone(text, start, end):
            continue
        written = not value.isdigit() or value.startswith("00")
        score = VALIDATED_SCORE if written or _named_a_phone(text, start, end) else BARE_SCORE
        found.append(Finding("PHONE_NUMBER", start, end, score))
    return found


def _phone_numbers(text: str) -> list[tuple[int, int]]:
    """Where libphonenumber's matcher finds valid numbers for Presidio's regions. It is run only on
    the stretches around runs of five or more digits whose digits fit some region's numbering plan
    (or that start with "+"), and once per stretch: each candidate it extracts is parsed for the
    regions whose plan its own digits fit, not for every region (ADR 0019)."""
    windows: list[list[int]] = []
    for run in _DIGIT_RUN.finditer(text):
        groups = _GROUP.findall(run.group())
        if sum(map(len, groups)) < 5 or not ("+" in run.group() or _plans_fitting(groups)):
            continue
        start, end = max(0, run.start() - _WINDOW), min(len(text), run.end() + _WINDOW)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    found = []
    for start, end in windows:
        found += [(start + match.start, start + match.end) for match in _matcher()(text[start:end])]
    return found


def _plans_fitting(groups: list[str]) -> list[tuple]:
    """The numbering plans that some run of consecutive digit groups (5 to 17 digits) fits, in
    the order of the regions."""
    runs = []
    for first in range(len(groups)):
        digits = ""
        for group in groups[first : first + 8]:
            digits += group
            if len(digits) > 17:
                break
            if len(digits) >= 5:
                runs.append(digits)
    return [plan for plan in _numbering_plans() if any(_may_be_national(digits, plan) for digits in runs)]


@lru_cache(maxsize=1)
def _matcher():
    """libphonenumber's matcher with one change: a candidate is parsed for each region whose plan
    its digits fit, the first that validates it wins (the stock matcher takes one region, so it
    would scan the text once per region). Written against phonenumbers 9.0 (pinned)."""
    import phonenumbers
    from phonenumbers.phonenumbermatcher import PhoneNumberMatcher

    class RegionsMatcher(PhoneNumberMatcher):
        def _parse_and_verify(self, candidate, offset):
            plans = _plans_fitting(_GROUP.findall(candidate)) if "+" not in candidate else _numbering_plans()[:1]
            for plan in plans:
                self.preferred_region = plan[0]
                if (match := super()._parse_and_verify(candidate, offset)) is not None:
                    return match
            return None

    return lambda text: RegionsMatcher(text, PHONE_REGIONS[0], leniency=phonenumbers.Leniency.VALID)


# Beyond Presidio's patterns (tuned on presidio-synth templates with odd ids, docs/guardrails.md):
# card numbers of any issuer and grouping that pass Luhn, and phone numbers written as phone numbers
# (a country code, an area code in parentheses, or dashes and dots between digit groups) that
# libphonenumber does not know.
_CARD = re.compile(r"(?<![\d.-])[2-6](?:[ -]?\d){11,18}(?![\d-])")
_CARD_GROUPED = re.compile(r"^\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?$|^\d{4}([ -])\d{6}\2\d{5}$")
_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?|\(\d{1,4}\)[\s.-]?)?\d{1,15}(?:[\s.-]\d{1,8}){0,5}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,6})?(?![\w.-]*\d)",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension)\s?\d{1,6}$", re.IGNORECASE)
_DATE = re.compile(r"(\d{4})[./-](\d{1,2})[./-](\d{1,2})|(\d{1,2})[./-](\d{1,2})[./-]\d{2,4}")
_SSN = re.compile(r"\d{3}-\d{2}-\d{4}")  # a US social security number, never a phone number
# Words that say the number next to them is a phone number: "call me on 450 0840", "781 1704 office".
_CALLED = re.compile(
    r"\b(?:call(?:ed|ing)?|phone|telephone|tel|mobile|cell(?:phone)?|fax|sms|text(?:ed)? me|whatsapp|dial(?:led)?"
    r"|ring|reach (?:me|us|him|her) (?:at|on)|contact(?: me| us)? (?:at|on)|hotline|helpline|landline)\b\W*(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)
_CALLED_AFTER = re.compile(r"^\W{0,3}(?:office|fax|mobile|cell|home|work|phone|tel|direct|landline)\b", re.IGNORECASE)
# "my number is", "contact no.", "phone #"
_NUMBER_IS = re.compile(
    r"\b(?:(?:my|our|his|her|their|your|direct|contact|home|work|office) (?:phone |mobile |cell |contact )?(?:number|no\.?|#)"
    r"|number (?:is|was)|reach (?:me|us|him|her|them)(?: at| on)?)\W*$",
    re.IGNORECASE,
)
# Words that say a number is something else: "order 123-456-7890", "ISBN 1-155-61025-3".
_LABELLED = re.compile(
    r"\b(?:order|invoice|ref(?:erence)?|account|acct|card|isbn|issn|tracking|ticket|case|policy|serial|sku|receipt|booking"
    r"|confirmation|transaction|routing|passport|licen[cs]e|member(?:ship)?|customer|patient|employee|student|id)"
    r"(?: (?:number|no\.?|#|id|code))?(?: is| was)?\W{0,3}$",
    re.IGNORECASE,
)
# Digits spaced in pairs or threes, as many numbering plans write a national number: Denmark and
# France in pairs, Poland and Portugal in threes ("dd ddd dd dd" for a Polish landline); two fours
# joined by a dash, as Australia writes a local one (a span of years is not one, see _YEARS).
_EVEN_GROUPS = re.compile(r"\d{2}(?: \d{2}){3,4}|\d{3} \d{3} \d{3}|\d{2} \d{3} \d{2} \d{2}|\d{4}-\d{4}")
SHAPE_SCORE = 0.6
BARE_SCORE = 0.6  # a bare run of digits nothing names: a phone number more often than not


def _named_a_phone(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 40) : start]
    return bool(_CALLED.search(before) or _NUMBER_IS.search(before) or _CALLED_AFTER.match(text[end : end + 12]))


def _not_a_phone(text: str, start: int, end: int) -> bool:
    """Labelled as another kind of number and not named a phone; a house number before a street
    word; the seconds of a time ("12:05:43.436753"); a decimal or its fraction ("168.077666"); a
    range of years; a date; or an ISBN, whose check digit stands alone in the last group
    ("978-1-4021-6723-2", "0-8044-2957-X")."""
    if _LABELLED.search(text[max(0, start - 24) : start]) and not _named_a_phone(text, start, end):
        return True
    value = text[start:end]
    street = _STREET_AFTER.match(text, end, end + 60)
    if street and any(word.rstrip(".").lower() in STREET_WORDS for word in street.group(1).split()):
        return True  # a house number: "3369 24 Clarke Av", "56 106 Rue Ettatawer"
    if _TIME_BEFORE.search(text, max(0, start - 6), start) or _DECIMAL.fullmatch(value) or _YEARS.fullmatch(value):
        return True
    if _is_date(value):
        return True
    first = start
    while first > 0 and (text[first - 1].isdigit() or text[first - 1] == "-"):
        first -= 1
    token = _HYPHENATED.match(text, first)
    groups = token.group().split("-") if token else []
    return len(groups) >= 3 and len(groups[-1]) == 1 and _isbn("".join(groups))


_TIME_BEFORE = re.compile(r"\d:(?:\d\d\.)?$|\d\.$")  # a time's seconds, a decimal's fraction
_STREET_AFTER = re.compile(r"[ \t]+((?:[A-Z][\w'-]*\.?[ \t]+){0,3}[A-Za-z]+\.?)")
_DECIMAL = re.compile(r"-?\d{1,3}\.\d{5,}")
_YEARS = re.compile(r"(?:1[89]|20)\d\d\s?[-\u2013/]\s?(?:1[89]|20)\d\d")
_HYPHENATED = re.compile(r"\d[\d-]*[\dXx]")


def _isbn(digits: str) -> bool:
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] in "Xx"):
        check = sum((10 - i) * int(c) for i, c in enumerate(digits[:9])) + (10 if digits[9] in "Xx" else int(digits[9]))
        return check % 11 == 0
    if len(digits) == 13 and digits.isdigit() and digits.startswith(("978", "979")):
        return sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(digits)) % 10 == 0
    return False


def _inside_a_number(text: str, start: int, end: int) -> bool:
    """A match with more digits right before or after it is a piece of a longer number, not an id."""
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


def _luhn(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(int(c) for c in reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _shaped(text: str, entities: frozenset[str]) -> list[Finding]:
    found = []
    if not entities or "CREDIT_CARD" in entities:
        for match in _CARD.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if 12 <= len(digits) <= 19 and _luhn(digits):
                score = VALIDATED_SCORE if _CARD_GROUPED.match(match.group()) else SHAPE_SCORE + 0.1
                found.append(Finding("CREDIT_CARD", match.start(), match.end(), score))
    if not entities or "PHONE_NUMBER" in entities:
        for match in _PHONE.finditer(text):
            phone = _phone_in(text, match)
            if phone and not _not_a_phone(text, *phone):
                found.append(Finding("PHONE_NUMBER", *phone, SHAPE_SCORE))
    return found


def _phone_in(text: str, match: re.Match) -> tuple[int, int] | None:
    """Where a phone number is in a run of digit groups: the whole run, or its end when the run
    has more than 15 digits ("30971 21 253 109 8211" is a postcode and a number). It has 7 to 15
    digits and is written as a phone number (a country code, an area code in parentheses, three
    groups with dashes or dots) or named as one by the words around it; a date, a social security
    number or a label ("2024: ...") is not one."""
    value, start = match.group(), match.start()
    extension = _EXTENSION.search(value)
    number = value[: extension.start()] if extension else value
    offsets = [0] + [m.start() for m in re.finditer(r"(?<=[\s.-])\d", number)]
    for offset in offsets:
        piece = number[offset:]
        digits = sum(c.isdigit() for c in piece)
        if digits < 7:
            return None
        if digits > 15 or _SSN.fullmatch(piece):
            continue
        groups = len(re.findall(r"\d+", piece))
        marked = piece.startswith(("+", "(")) or (groups >= 3 and re.search(r"\d[.-]\d", piece) is not None)
        marked = marked or (piece.startswith("00") and piece[2:3] != "0" and digits >= 10)  # an international prefix
        marked = marked or _EVEN_GROUPS.fullmatch(piece) is not None  # "79 14 07 14", "722 316 276"
        named = (groups >= 2 or digits >= 8) and _named_a_phone(text, start + offset, match.end())
        if (marked or named) and not _is_date(piece) and text[match.end() : match.end() + 1] != ":":
            return start + offset, match.end()
    return None


def _is_date(value: str) -> bool:
    for date in _DATE.finditer(value):
        year_first = date.group(1) is not None
        first, second = (
            (int(date.group(2)), int(date.group(3))) if year_first else (int(date.group(4)), int(date.group(5)))
        )
        if (first <= 12 and second <= 31) or (not year_first and second <= 12 and first <= 31):
            return True
    return False


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    found = sorted(found, key=lambda f: (f.start, -f.score, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


def find(text: str, entities: frozenset[str] = frozenset(), threshold: float = 0.5) -> list[Finding]:
    """Every personal datum scoring at least `threshold`: the patterns, then the names
    (checks/names.py) that overlap none of them, unless `entities` leaves names out."""
    found = patterns(text, entities, threshold)
    if entities and not entities & names.ENTITIES:
        return found
    named = [
        n for n in names.find(text, entities, threshold) if not any(n.start < f.end and f.start < n.end for f in found)
    ]
    return sorted(found + named, key=lambda f: f.start)
