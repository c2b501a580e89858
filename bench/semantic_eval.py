"""How often the semantic cache would serve a wrong answer, and how often a right one.

    .venv/bin/python bench/semantic_eval.py [--thresholds 0.80,0.85,0.90,0.95] [--tune]

For each pair of a public paraphrase set, the cache "serves" the stored question's answer when the
embeddings' cosine reaches the threshold and (unless --embedding-only) the ordered check agrees.
It reports:
  - the false-hit rate: the share of non-paraphrases that would be served;
  - the hit rate: the share of true paraphrases that would be served.
The sets are PAWS-Wiki dev (label 1 = paraphrase, hard word-swap negatives) and STS-B (score >= 4.5
= the same question, <= 2 = a different one). Tuning used PAWS rows with an odd id and STS-B train;
the figures that count are on PAWS rows with an even id and on STS-B dev, which tuning never saw.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apps.cache.semantic import same_question  # noqa: E402
from apps.embeddings.local import local_embedder  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"


def paws(held_out: bool) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    same, different = [], []
    with open(CORPORA / "paws-wiki-dev" / "dev.tsv", encoding="utf-8") as rows:
        for row in csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE):
            if (int(row[0]) % 2 == 0) != held_out:
                continue
            (same if row[3] == "1" else different).append((row[1], row[2]))
    return same, different


def stsb(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    same, different = [], []
    with open(CORPORA / "stsb" / name, encoding="utf-8") as rows:
        for row in csv.reader(rows, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            score = float(row[4])
            if score >= 4.5:
                same.append((row[5], row[6]))
            elif score <= 2:
                different.append((row[5], row[6]))
    return same, different


def similarities(pairs: list[tuple[str, str]]):
    embedder = local_embedder()
    left = embedder.embed([a for a, _ in pairs])
    right = embedder.embed([b for _, b in pairs])
    return (left * right).sum(axis=1)


@lru_cache(maxsize=200_000)
def similar(a: str, b: str) -> float:
    return local_embedder().word_similarity(a, b)


def rates(same, different, threshold: float, ordered: bool) -> dict:
    def served(pairs):
        if not pairs:
            return 0.0
        scores = similarities(pairs)
        hits = sum(
            1 for (a, b), score in zip(pairs, scores, strict=True)
            if score >= threshold and (not ordered or same_question(a, b, similar))
        )  # fmt: skip
        return hits / len(pairs)

    return {"false_hit_rate": round(served(different), 4), "hit_rate": round(served(same), 4),
            "pairs": {"same": len(same), "different": len(different)}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--thresholds", default="0.80,0.85,0.90,0.95")
    parser.add_argument("--tune", action="store_true", help="Measure on the tuning rows instead of the held-out ones.")
    parser.add_argument("--embedding-only", action="store_true", help="Without the ordered check (the baseline).")
    args = parser.parse_args()
    sets = (
        {"paws (odd ids)": paws(held_out=False), "stsb train": stsb("sts-train.tsv")}
        if args.tune
        else {"paws (even ids)": paws(held_out=True), "stsb dev": stsb("sts-dev.tsv")}
    )
    started = time.perf_counter()
    report = {
        name: {t: rates(*pairs, float(t), ordered=not args.embedding_only) for t in args.thresholds.split(",")}
        for name, pairs in sets.items()
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
