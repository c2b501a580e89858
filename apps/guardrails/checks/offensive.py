"""Offensive language by a trained model: alt-profanity-check's linear SVM (TF-IDF over words,
five calibrated folds), trained on about 200,000 human-labelled comments and tweets (ADR 0024).

The package's scikit-learn objects are read once and turned into plain numbers: a word's inverse
document frequency and its weight in each fold. Scoring a text is then a walk over its words,
about a hundred times faster than calling scikit-learn for one text (which costs 2.7 ms in input
validation), and gives the same probability (tested against the package's own `predict_prob`), but for the
words that name a group, which weigh nothing here.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from . import Finding

_WORD = re.compile(r"(?u)\b\w\w+\b")  # the vectorizer's token pattern
CARRIES = 2.0  # a word whose mean weight passes this is named as what makes a text offensive
NAMED = 1.0  # short of that, the text's heaviest word is named if it weighs this much
WINDOW, STEP = 200, 100  # the passages scored: two or three sentences, overlapping by half

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
    words: dict[str, tuple[float, tuple[float, ...]]]  # word: idf, its weight in each fold
    intercepts: tuple[float, ...]
    calibration: tuple[tuple[float, float], ...]  # each fold's sigmoid: a, b


_model: _Model | None = None
_lock = threading.Lock()


def _load() -> _Model:
    import joblib  # scikit-learn's objects; only here, at start-up

    data = resources.files("profanity_check") / "data"
    vectorizer = joblib.load(data / "vectorizer.joblib")
    calibrated = joblib.load(data / "model.joblib")
    folds = calibrated.calibrated_classifiers_
    coefficients = [fold.estimator.coef_[0] for fold in folds]
    words = {
        word: (
            float(vectorizer.idf_[column]),
            tuple(0.0 if word in _IDENTITIES else float(c[column]) for c in coefficients),
        )
        for word, column in vectorizer.vocabulary_.items()
    }
    return _Model(
        words=words,
        intercepts=tuple(float(fold.estimator.intercept_[0]) for fold in folds),
        calibration=tuple((float(fold.calibrators[0].a_), float(fold.calibrators[0].b_)) for fold in folds),
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
    return _probability(model(), Counter(m.group().lower() for m in _WORD.finditer(text)))


def _probability(known: _Model, counts: Counter) -> float:
    folds = len(known.intercepts)
    sums, norm = [0.0] * folds, 0.0
    for word, count in counts.items():
        entry = known.words.get(word)
        if entry is None:
            continue
        weight = count * entry[0]
        norm += weight * weight
        for k, coefficient in enumerate(entry[1]):
            sums[k] += weight * coefficient
    norm = math.sqrt(norm) or 1.0
    total = 0.0
    for k in range(folds):
        a, b = known.calibration[k]
        total += 1.0 / (1.0 + math.exp(a * (sums[k] / norm + known.intercepts[k]) + b))
    return total / folds


def score(text: str, before: str = "") -> tuple[float, list[Finding]]:
    """The probability of the most offensive passage of `text` (WINDOW characters, one every STEP,
    as the model was trained on comments and tweets: one insult in a long answer is not diluted
    away), and where the words that carry it are: each occurrence of a strongly offensive word,
    or else of the text's heaviest one if it is offensive at all.

    `before` is what a stream sent just before `text`: the passages are read with it, so a
    sentence is judged whole, not by its last few words (which alone are often scored extreme)."""
    known = model()
    tail = before[-WINDOW:]
    words = [(m.group().lower(), m.start() - len(tail), m.end() - len(tail)) for m in _WORD.finditer(tail + text)]
    probability = round(max(_passages(known, words, -len(tail), len(text))), 4)
    weights = {
        word: sum(entry[1]) / len(entry[1])
        for word, start, _ in words
        if start >= 0 and (entry := known.words.get(word))
    }
    strongest = max(weights.values(), default=0.0)
    if strongest < NAMED:
        return probability, []
    carrying = {word for word, weight in weights.items() if weight >= min(CARRIES, strongest)}
    return probability, [
        Finding("OFFENSIVE", start, end, probability) for word, start, end in words if start >= 0 and word in carrying
    ]


def _passages(known: _Model, words: list[tuple[str, int, int]], first: int, length: int):
    """Each passage's probability: the words inside [start, start + WINDOW), from `first` (before
    the text, where `before` begins) every STEP, the last ending where the text ends. A passage
    wholly before the text was scored when that was sent."""
    starts, ends = [w[1] for w in words], [w[2] for w in words]
    english = _english_words()
    start = first
    while True:
        end = start + WINDOW
        if end > 0 or end >= length:
            inside = words[bisect.bisect_left(starts, start) : bisect.bisect_right(ends, end)]
            # the model knows English: in a passage mostly of other words, Dutch "hoe" (how), German
            # "die" (the) and "dick" (thick) read as English abuse
            if sum(w in english or w in known.words for w, _, _ in inside) * 2 >= len(inside):
                yield _probability(known, Counter(word for word, _, _ in inside))
            else:
                yield 0.0
        if end >= length:
            return
        start = min(start + STEP, length - WINDOW)
