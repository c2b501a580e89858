"""Offensive language by a trained model: alt-profanity-check's linear SVM (TF-IDF over words,
five calibrated folds), trained on about 200,000 human-labelled comments and tweets (ADR 0024).

The package's scikit-learn objects are read once, in a child process, and turned into plain
numbers: a word's inverse document frequency and its weight in each fold. Scoring a text is then a
walk over its words, about a hundred times faster than calling scikit-learn for one text (which
costs 2.7 ms in input validation), and gives the same probability (tested against the package's own
`predict_prob`), but for the words that name a group, which weigh nothing here.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from . import Finding

_WORD = re.compile(r"(?u)\b\w\w+\b")  # the vectorizer's token pattern
CARRIES = 2.0  # a word whose mean weight passes this is named as what makes a text offensive
NAMED = 1.0  # short of that, the text's heaviest word is named if it weighs this much
STEP = 100  # a block; a passage is two side by side: two or three sentences, overlapping by half
WINDOW = 2 * STEP  # how far back into what a stream sent the passages reach

# Words that name who someone is. Trained on comments where they often appear in abuse, the model
# learnt them as offensive ("gay" weighs 2.6, "Black women deserve equal pay" scored 0.52), the
# bias Dixon et al. measured in Jigsaw's models (2018). Their weight is set to nothing: a slur or
# an insult still counts, naming a group does not.
_IDENTITIES = frozenset((
    "lesbian", "lesbians", "gay", "gays", "bisexual", "bisexuals", "transgender", "transgenders", "trans",
    "transsexual", "queer", "queers", "lgbt", "lgbtq", "lgbtqia", "homosexual", "homosexuals", "heterosexual",
    "straight", "nonbinary", "male", "males", "female", "females", "woman", "women", "girl", "girls", "man", "men",
    "boy", "boys", "feminist", "feminists", "african", "africans", "black", "blacks", "white", "whites", "european",
    "europeans", "hispanic", "hispanics", "latino", "latinos", "latina", "latinas", "latinx", "mexican", "mexicans",
    "american", "americans", "asian", "asians", "indian", "indians", "chinese", "japanese", "korean", "koreans",
    "arab", "arabs", "arabic", "middle", "eastern", "muslim", "muslims", "islam", "islamic", "mosque", "jew", "jews",
    "jewish", "judaism", "synagogue", "christian", "christians", "catholic", "catholics", "protestant", "church",
    "buddhist", "buddhists", "hindu", "hindus", "sikh", "sikhs", "atheist", "atheists", "immigrant", "immigrants",
    "migrant", "migrants", "refugee", "refugees", "israeli", "israelis", "palestinian", "palestinians", "old",
    "older", "elderly", "young", "younger", "teenage", "teenager", "teenagers", "blind", "deaf", "disabled",
    "disability", "disabilities", "wheelchair", "autistic", "autism",
))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Model:
    words: dict[str, tuple[float, tuple[float, ...], float]]  # word: idf, its weight in each fold, their mean
    intercepts: tuple[float, ...]
    calibration: tuple[tuple[float, float], ...]  # each fold's sigmoid: a, b


_model: _Model | None = None
_lock = threading.Lock()


# Run in a child process: scikit-learn and scipy (about 100 MB) are needed only to read the pickles,
# and imported into the server they cost it CPU on every request (ADR 0024).
_READ_PICKLES = """
import json, sys
from importlib import resources
import joblib
data = resources.files("profanity_check") / "data"
vectorizer, model = joblib.load(data / "vectorizer.joblib"), joblib.load(data / "model.joblib")
folds = model.calibrated_classifiers_
json.dump({
    "columns": {word: int(column) for word, column in vectorizer.vocabulary_.items()},
    "idf": vectorizer.idf_.tolist(),
    "coefficients": [fold.estimator.coef_[0].tolist() for fold in folds],
    "intercepts": [float(fold.estimator.intercept_[0]) for fold in folds],
    "calibration": [[float(fold.calibrators[0].a_), float(fold.calibrators[0].b_)] for fold in folds],
}, sys.stdout)
"""


def _load() -> _Model:
    read = subprocess.run(  # noqa: S603 - this interpreter, a fixed program, no shell
        [sys.executable, "-c", _READ_PICKLES], capture_output=True, check=True, timeout=120
    )
    numbers = json.loads(read.stdout)  # floats as repr writes them: read back exactly
    idf, coefficients = numbers["idf"], numbers["coefficients"]
    words = {}
    for word, column in numbers["columns"].items():
        weights = tuple(0.0 if word in _IDENTITIES else c[column] for c in coefficients)
        words[word] = (idf[column], weights, sum(weights) / len(weights))
    return _Model(
        words=words,
        intercepts=tuple(numbers["intercepts"]),
        calibration=tuple((a, b) for a, b in numbers["calibration"]),
    )


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    from .lexicon import lexicon

    words = lexicon()
    return words.words | words.stop_words


def model() -> _Model:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _load()
    return _model


def probability(text: str) -> float:
    """The probability that `text` is offensive: the package's, with words naming a group neutral."""
    known = model()
    block = _block(known, frozenset(), [m.group().lower() for m in _WORD.finditer(text)])
    return _calibrated(known, block.sums, block.norm2)


@dataclass(slots=True)
class _Block:
    """The words of STEP characters of a text, summed: a passage is two blocks side by side."""

    counts: Counter
    sums: list[float]  # each fold's sum of tf-idf times weight
    norm2: float  # the squared length of the tf-idf vector
    english: int  # words that are English, or the model's
    total: int


def _block(known: _Model, english: frozenset[str], words: list[str]) -> _Block:
    counts = Counter(words)
    sums, norm2, known_words = [0.0] * len(known.intercepts), 0.0, 0
    for word, count in counts.items():
        entry = known.words.get(word)
        if entry is None:
            known_words += count if word in english else 0
            continue
        known_words += count
        weight = count * entry[0]
        norm2 += weight * weight
        for k, coefficient in enumerate(entry[1]):
            sums[k] += weight * coefficient
    return _Block(counts, sums, norm2, known_words, len(words))


def _calibrated(known: _Model, sums: list[float], norm2: float) -> float:
    """The folds' calibrated probabilities, averaged, as CalibratedClassifierCV does."""
    norm = math.sqrt(norm2) or 1.0
    total = 0.0
    for k, (a, b) in enumerate(known.calibration):
        total += 1.0 / (1.0 + math.exp(a * (sums[k] / norm + known.intercepts[k]) + b))
    return total / len(known.intercepts)


def score(text: str, before: str = "") -> tuple[float, list[Finding]]:
    """The probability of the most offensive passage of `text` (about WINDOW characters, one every
    STEP, as the model was trained on comments and tweets: one insult in a long answer is not diluted
    away), and where the words that carry it are: each occurrence of a strongly offensive word,
    or else of the text's heaviest one if it is offensive at all.

    `before` is what a stream sent just before `text`: the passages are read with it, so a
    sentence is judged whole, not by its last few words (which alone are often scored extreme)."""
    known = model()
    tail = before[-WINDOW:]
    probability = round(max(_passages(known, _blocks_of(tail + text), len(tail))), 4)
    weights = {word: entry[2] for word in set(_WORD.findall(text.lower())) if (entry := known.words.get(word))}
    strongest = max(weights.values(), default=0.0)
    if strongest < NAMED:
        return probability, []
    carrying = sorted(word for word, weight in weights.items() if weight >= min(CARRIES, strongest))
    where = re.compile(r"\b(?:" + "|".join(map(re.escape, carrying)) + r")\b", re.IGNORECASE)
    return probability, [Finding("OFFENSIVE", m.start(), m.end(), probability) for m in where.finditer(text)]


def _blocks_of(text: str) -> list[tuple[list[str], int]]:
    """The words of `text` in blocks of about STEP characters, with where each ends; each cut
    moves on to the end of a word."""
    blocks, start = [], 0
    while start < len(text) or not blocks:
        cut = start + STEP
        while cut < len(text) and (text[cut].isalnum() or text[cut] == "_"):
            cut += 1
        blocks.append((_WORD.findall(text[start:cut].lower()), cut))
        start = cut
    return blocks


def _passages(known: _Model, lists: list[tuple[list[str], int]], before: int):
    """Each passage's probability: two blocks side by side. A passage wholly within the first
    `before` characters (what a stream sent before) was scored when that was sent. Blocks are
    summed once and added in pairs (the sums add; the squared norm adds, plus what the words two
    blocks share contribute), so each word is weighed once however many passages hold it."""
    english = _english_words()
    blocks = [_block(known, english, words) for words, _ in lists]
    pairs = [(blocks[0], None)] if len(blocks) == 1 else list(itertools.pairwise(blocks))
    for i, (one, two) in enumerate(pairs):
        if len(blocks) > 1 and lists[i + 1][1] <= before:
            continue
        if two is None:
            sums, norm2, english_words, total = one.sums, one.norm2, one.english, one.total
        else:
            shared = sum(count * two.counts[word] * known.words[word][0] ** 2
                         for word, count in one.counts.items() if word in two.counts and word in known.words)  # fmt: skip
            sums = [x + y for x, y in zip(one.sums, two.sums, strict=True)]
            norm2, english_words, total = (
                one.norm2 + two.norm2 + 2 * shared,
                one.english + two.english,
                one.total + two.total,
            )
        # the model knows English: in a passage mostly of other words, Dutch "hoe" (how), German
        # "die" (the) and "dick" (thick) read as English abuse
        yield _calibrated(known, sums, norm2) if english_words * 2 >= total else 0.0
