"""Generate the demo domain files from the catalog, deterministically: ``python -m kg.demo.generate``.

Writes ``lumora.tsv``, ``aliases.tsv``, ``descriptions.tsv``, ``intents.jsonl``, ``questions.txt`` and
``questions_qtype.txt`` into ``kg/demo/data/`` (or ``--out DIR``). Everything is built and checked in memory
first (answers computed from the KG, names free of separators, only the intended ambiguity present), then
each file is written atomically, so a failed run leaves the previous files intact.

>>> domain = build_domain()
>>> len(domain.triples) >= 1000
True
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kgagent.kg.demo import (
    ALIASES_FILE,
    DESCRIPTIONS_FILE,
    INTENTS_FILE,
    KG_FILE,
    QTYPE_FILE,
    QUESTIONS_FILE,
    demo_dir,
)
from kgagent.kg.demo import catalog as C
from kgagent.kg.demo.texts import INTENTS, QUESTIONS
from kgagent.kg.errors import InputError, KgAgentError
from kgagent.kg.graph import INVERSE, KnowledgeGraph
from kgagent.kg.io import atomic_write_text

DEFAULT_SEED = 7
AMBIGUOUS = ("Nova",)  # the one surface form deliberately shared by two entities (a phone and a speaker)
REQUIRED_INTENTS = ("greeting", "thanks", "goodbye", "human_handoff", "out_of_scope", "product_info",
                    "compatibility", "pricing", "warranty_policy", "store_info", "troubleshooting",
                    "order_status")
MIN_EXAMPLES = 25
MAX_ANSWERS = 40  # a question with more answers than this is a list, not a question
_FORBIDDEN = re.compile(r"[\t\n|,\[\]]")  # separators of the TSV, MetaQA answer lists and topic brackets


@dataclass(frozen=True)
class Question:
    """A MetaQA-style question: ``text`` holds ``[topic]``; ``answers`` are the keys ``path`` reaches."""

    text: str
    topic: str
    path: tuple[str, ...]
    answers: tuple[str, ...]

    @property
    def qtype(self) -> str:
        return "|".join(self.path)

    def line(self) -> str:
        return f"{self.text}\t{'|'.join(self.answers)}"


@dataclass
class DemoDomain:
    """Everything the generator writes, in memory. Keys double as labels."""

    triples: list[tuple[str, str, str]]
    aliases: dict[str, tuple[str, ...]]
    descriptions: dict[str, str]
    intents: list[tuple[str, str]]  # (text, intent)
    questions: list[Question] = field(default_factory=list)

    @property
    def entities(self) -> list[str]:
        return list(dict.fromkeys(e for h, _, t in self.triples for e in (h, t)))

    def kg(self) -> KnowledgeGraph:
        return KnowledgeGraph.from_triples(self.triples, aliases=self.aliases, descriptions=self.descriptions)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every file into ``out_dir``, each atomically; returns name -> path."""
        out = Path(out_dir)
        paths = {}
        for name, text in self.files().items():
            atomic_write_text(out / name, text)
            (out / name).chmod(0o644)  # package data: readable by every user of an installed copy
            paths[name] = out / name
        return paths

    def files(self) -> dict[str, str]:
        """File name -> text, exactly as written."""
        kg_rows = "".join(f"{h}\t{r}\t{t}\n" for h, r, t in self.triples)
        return {
            KG_FILE: "head\trelation\ttail\n" + kg_rows,
            ALIASES_FILE: "".join("\t".join((k, *v)) + "\n" for k, v in self.aliases.items()),
            DESCRIPTIONS_FILE: "".join(f"{k}\t{v}\n" for k, v in self.descriptions.items()),
            INTENTS_FILE: "".join(json.dumps({"text": t, "intent": i}, ensure_ascii=False) + "\n"
                                  for t, i in self.intents),
            QUESTIONS_FILE: "".join(q.line() + "\n" for q in self.questions),
            QTYPE_FILE: "".join(q.qtype + "\n" for q in self.questions),
        }


# ---------------------------------------------------------------------------------------------- literals
def _usd(n: int) -> str:
    return f"{n} USD"


def _inches(x: float) -> str:
    return f"{x:g} inches"


def _storage(gb: int) -> str:
    return f"{gb // 1024} TB" if gb >= 1024 else f"{gb} GB"


def normalize(name: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name, as an entity linker compares them."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", ascii_.lower()).split())


# ---------------------------------------------------------------------------------------------- facts
class _Facts:
    """Ordered, duplicate-free triples plus aliases and descriptions keyed by entity."""

    def __init__(self) -> None:
        self.triples: dict[tuple[str, str, str], None] = {}
        self.aliases: dict[str, list[str]] = defaultdict(list)
        self.descriptions: dict[str, str] = {}

    def add(self, head: str, relation: str, tail: str | int | None) -> None:
        if tail is None:
            return
        self.triples.setdefault((head, relation, str(tail)), None)

    def alias(self, key: str, *names: str) -> None:
        for n in names:
            if n and n != key and n not in self.aliases[key]:
                self.aliases[key].append(n)

    def describe(self, key: str, text: str) -> None:
        self.descriptions[key] = text


def _products(f: _Facts, stock_rng: random.Random) -> None:
    warranty = {p.key: next(w.key for w in C.WARRANTIES if w.applies(p)) for p in C.PRODUCTS}
    returns = {p.key: next(r.key for r in C.RETURN_POLICIES if r.applies(p)) for p in C.PRODUCTS}
    for p in C.PRODUCTS:
        k = p.key
        f.add(k, "is_a", p.kind)
        f.add(k, "belongs_to", p.series)
        f.add(k, "released_in", p.year)
        f.add(k, "has_price", _usd(p.price))
        f.add(k, "has_battery_capacity", p.battery)
        f.add(k, "has_screen_size", _inches(p.screen) if p.screen else None)
        for gb in p.storage:
            f.add(k, "has_storage", _storage(gb))
        for colour in p.colours:
            f.add(k, "available_in_colour", colour)
        f.add(k, "powered_by", p.chip)
        f.add(k, "runs", p.os)
        f.add(k, "has_charging_port", p.port)
        f.add(k, "supports", C.WIRELESS if p.wireless else None)
        f.add(k, "has_water_resistance", p.water)
        f.add(k, "successor_of", p.predecessor)
        for b in p.bundled:
            f.add(k, "bundled_with", b)
        f.add(k, "covered_by_warranty", warranty[k])
        f.add(k, "has_return_policy", returns[k])
        for plan in C.PLANS:
            if plan.applies(p):
                f.add(k, "eligible_for_plan", plan.key)
        for store in _stockists(p, stock_rng):
            f.add(k, "stocked_at", store)
        f.alias(k, p.model, *p.aliases)
        f.describe(k, f"A {p.year} {p.kind} in Lumora's {p.series}. {p.blurb}")


def _stockists(p: C.Product, rng: random.Random) -> list[str]:
    """Stores that stock ``p``: newer products in more stores, TVs mostly in the flagship stores."""
    base = {2021: 0.15, 2022: 0.25, 2023: 0.4, 2024: 0.5}.get(p.year, 0.6)
    out = []
    for s in C.STORES:
        prob = base + (0.3 if s.flagship else 0.0)
        if p.kind == C.TV and not s.flagship:
            prob /= 3
        if rng.random() < prob:
            out.append(s.key)
    return out or [C.STORES[0].key]


def _accessories(f: _Facts) -> None:
    for a in C.ACCESSORIES:
        k = a.key
        f.add(k, "is_a", a.kind)
        f.add(k, "has_price", _usd(a.price))
        f.add(k, "has_output_power", a.power)
        f.add(k, "has_connector", a.connector)
        for colour in a.colours:
            f.add(k, "available_in_colour", colour)
        for p in C.PRODUCTS:
            if a.fits(p):
                f.add(k, "compatible_with", p.key)
        for other in a.fits_accessories:
            f.add(k, "compatible_with", other)
        f.add(k, "covered_by_warranty", C.ACCESSORY_WARRANTY)
        f.add(k, "has_return_policy", C.STANDARD_RETURNS)
        f.alias(k, *a.aliases)
        f.describe(k, f"{a.blurb} A Lumora {a.kind} sold for {a.price} USD.")


def _policies(f: _Facts) -> None:
    for w in C.WARRANTIES:
        f.add(w.key, "has_warranty_length", w.length)
        for c in w.covers:
            f.add(w.key, "covers", c)
        for v in w.voided_by:
            f.add(w.key, "voided_by", v)
        f.alias(w.key, *w.aliases)
        f.describe(w.key, f"A {w.length} Lumora warranty covering {' and '.join(w.covers)}.")
    for r in C.RETURN_POLICIES:
        f.add(r.key, "has_return_window", r.window)
        for q in r.requires:
            f.add(r.key, "requires", q)
        f.add(r.key, "has_restocking_fee", r.restocking_fee)
        f.alias(r.key, *r.aliases)
        f.describe(r.key, f"Lumora products under this policy can be returned within {r.window} of delivery"
                          f" with {' and '.join(r.requires)}.")
    for plan in C.PLANS:
        f.add(plan.key, "has_duration", plan.duration)
        f.add(plan.key, "has_price", _usd(plan.price))
        for c in plan.covers:
            f.add(plan.key, "covers", c)
        for x in plan.excludes:
            f.add(plan.key, "excludes", x)
        f.add(plan.key, "has_service_fee", _usd(plan.service_fee) if plan.service_fee else None)
        f.alias(plan.key, *plan.aliases)
        f.describe(plan.key, f"A {plan.duration} Lumora service plan. {plan.blurb}")


def _stores(f: _Facts, rng: random.Random) -> None:
    other_services = [s for s in C.STORE_SERVICES if s != "TV installation booking"]
    for s in C.STORES:
        f.add(s.key, "located_in", s.city)
        f.add(s.key, "has_address", s.address)
        for h in s.hours:
            f.add(s.key, "has_opening_hours", h)
        services = C.STORE_SERVICES if s.flagship else rng.sample(other_services, rng.randint(2, 4))
        for svc in sorted(services, key=C.STORE_SERVICES.index):
            f.add(s.key, "offers_service", svc)
        for series in C.SERIES:
            # every store repairs phones; TVs only in flagships; the rest where the store has a workshop bench
            repairs = (s.flagship or series.key in ("Aurora series", "Kite series")
                       or (series.key != "Lumen series" and rng.random() < 0.4))
            if repairs:
                f.add(s.key, "repairs", series.key)
        f.alias(s.key, s.alias)
        kind = "flagship store" if s.flagship else "store"
        f.describe(s.key, f"Lumora's {kind} in {s.city} at {s.address}.")
        f.describe(s.address, f"The street address of {s.key}.")
    n_stores = Counter(s.city for s in C.STORES)
    for city, country in C.COUNTRIES.items():
        f.add(city, "located_in", country)
        n = n_stores[city]
        f.describe(city, f"A city in {country} with {n} Lumora store{'s' if n > 1 else ''}.")
    by_country = Counter(C.COUNTRIES[s.city] for s in C.STORES)
    for country, n in by_country.items():
        f.describe(country, f"A country where Lumora runs {n} store{'s' if n > 1 else ''}.")


def _support(f: _Facts) -> None:
    for pr in C.PROCEDURES:
        for target in pr.applies_to:
            f.add(pr.key, "applies_to", target)
        for ordinal, step in zip(("first", "second", "third"), pr.steps, strict=True):
            f.add(pr.key, f"has_{ordinal}_step", step)
            f.descriptions.setdefault(step, f"The {ordinal} step of the procedure {pr.key!r}.")
        f.add(pr.key, "takes_about", pr.takes)
        f.alias(pr.key, *pr.aliases)
        steps = "; then ".join(s[0].lower() + s[1:] for s in pr.steps)
        f.describe(pr.key, f"A troubleshooting procedure of about {pr.takes}: {steps}.")
    for sy in C.SYMPTOMS:
        for pr_key in sy.resolved_by:
            f.add(sy.key, "resolved_by", pr_key)
        f.alias(sy.key, *sy.aliases)
        f.describe(sy.key, f"A reported problem, fixed by: {' or '.join(sy.resolved_by)}.")


def _company(f: _Facts) -> None:
    f.add(C.COMPANY, "headquartered_in", C.HEADQUARTERS)
    f.add(C.COMPANY, "founded_in", C.FOUNDED)
    f.describe(C.COMPANY,
               f"A consumer-electronics company founded in {C.FOUNDED} and based in {C.HEADQUARTERS}.")
    for s in C.SERIES:
        f.add(s.key, "made_by", C.COMPANY)
        f.alias(s.key, s.alias)
        f.describe(s.key, s.blurb)


def _describe_categories(f: _Facts) -> None:
    """Short descriptions for the shared value entities: categories, chips, systems, colours, coverage."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for _, r, t in f.triples:
        counts[r][t] += 1
    templates = {
        "is_a": "A product category with {n} Lumora products.",
        "powered_by": "A Lumora-designed chip used in {n} products.",
        "runs": "A Lumora operating system running on {n} products.",
        "available_in_colour": "A colour option offered for {n} Lumora products.",
        "covers": "A kind of cover included in {n} Lumora warranties or service plans.",
        "excludes": "Damage that {n} Lumora service plans do not cover.",
        "voided_by": "A condition that voids {n} Lumora warranties.",
        "requires": "Something {n} Lumora return policies ask for.",
        "offers_service": "A service offered at {n} Lumora stores.",
        "has_charging_port": "A connector used to charge {n} Lumora products.",
        "supports": "A feature supported by {n} Lumora products.",
        "has_water_resistance": "A water-resistance rating of {n} Lumora products.",
        "has_connector": "A connector used by {n} Lumora accessories.",
    }
    for rel, text in templates.items():
        for tail, n in counts[rel].items():
            f.descriptions.setdefault(tail, text.format(n=n))
    for kind, aliases in C.TYPE_ALIASES.items():
        f.alias(kind, *aliases)


def _questions(kg: KnowledgeGraph) -> list[Question]:
    out = []
    for n, (text, path_str) in enumerate(QUESTIONS):
        where = {"path": "kg/demo/texts.py", "field": f"QUESTIONS[{n}]"}
        topics = re.findall(r"\[([^\]]+)\]", text)
        if len(topics) != 1:
            raise InputError(f"expected one [topic] in {text!r}", **where)
        topic, path = topics[0], tuple(path_str.split("|"))
        if not kg.has_entity(topic):
            raise InputError(f"unknown topic entity {topic!r}", **where)
        unknown = [s.removesuffix(INVERSE) for s in path if s.removesuffix(INVERSE) not in kg.relations]
        if unknown:
            raise InputError(f"unknown relation {unknown[0]!r} in path {path_str!r}", **where)
        reached = kg.follow([kg.entity_id(topic)], path)
        answers = tuple(sorted(kg.entities[e] for e in reached))
        if not answers or len(answers) > MAX_ANSWERS:
            raise InputError(f"{len(answers)} answers for {text!r} ({path_str}); expected 1..{MAX_ANSWERS}",
                             **where)
        out.append(Question(text, topic, path, answers))
    return out


def _intents(seed: int) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    rows = []
    for intent, examples in INTENTS.items():
        if len(examples) < MIN_EXAMPLES:
            raise InputError(f"{len(examples)} examples; at least {MIN_EXAMPLES} needed",
                             path="kg/demo/texts.py", field=f"INTENTS[{intent!r}]")
        for text in examples:
            norm = normalize(text)
            if norm in seen:
                raise InputError(f"example {text!r} repeats one of intent {seen[norm]!r}",
                                 path="kg/demo/texts.py", field=f"INTENTS[{intent!r}]")
            seen[norm] = intent
            rows.append((text, intent))
    missing = set(REQUIRED_INTENTS) - set(INTENTS)
    if missing:
        raise KgAgentError(f"kg/demo/texts.py: missing intents {sorted(missing)}")
    # shuffled so that any contiguous split of the file holds every intent
    random.Random(f"{seed}:intents").shuffle(rows)
    return rows


def _check_names(f: _Facts) -> None:
    entities = {e for h, _, t in f.triples for e in (h, t)}
    for e in sorted(entities):
        if not e or e != e.strip() or _FORBIDDEN.search(e):
            raise KgAgentError(f"entity key {e!r} is empty, padded or holds a separator (tab | , [ ])")
    for k in list(f.aliases) + list(f.descriptions):
        if k not in entities:
            raise KgAgentError(f"alias/description for {k!r}, which is in no triple")
    for k, text in f.descriptions.items():
        if not text or re.search(r"[\t\n]", text):
            raise KgAgentError(f"description of {k!r} is empty or holds a tab or newline")
    owners: dict[str, set[str]] = defaultdict(set)
    for e in entities:
        owners[normalize(e)].add(e)
        for a in f.aliases.get(e, ()):
            if _FORBIDDEN.search(a):
                raise KgAgentError(f"alias {a!r} of {e!r} holds a separator")
            owners[normalize(a)].add(e)
    clashes = {n: sorted(o) for n, o in owners.items() if len(o) > 1}
    expected = {normalize(a) for a in AMBIGUOUS}
    if set(clashes) != expected:
        raise KgAgentError(f"unexpected shared names {clashes}; only {sorted(expected)} may be shared")


def build_domain(seed: int = DEFAULT_SEED) -> DemoDomain:
    """Build and check the whole demo domain in memory (no files written)."""
    f = _Facts()
    _company(f)
    _products(f, random.Random(f"{seed}:stock"))
    _accessories(f)
    _policies(f)
    _stores(f, random.Random(f"{seed}:stores"))
    _support(f)
    _describe_categories(f)
    _check_names(f)
    domain = DemoDomain(
        triples=list(f.triples),
        aliases={k: tuple(v) for k, v in f.aliases.items() if v},
        descriptions=dict(f.descriptions),
        intents=_intents(seed),
    )
    domain.questions = _questions(domain.kg())
    return domain


def write_demo(out_dir: str | Path | None = None, *, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Build the domain and write its files into ``out_dir`` (default: the package's data folder)."""
    return build_domain(seed).write(out_dir if out_dir is not None else demo_dir())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kg.demo.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: kg/demo/data)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for stock and store assignments")
    args = parser.parse_args(argv)
    try:
        domain = build_domain(args.seed)  # everything checked before the first write
        paths = domain.write(args.out if args.out is not None else demo_dir())
    except KgAgentError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{len(domain.triples)} triples, {len(domain.entities)} entities, "
          f"{len({r for _, r, _ in domain.triples})} relations, {len(domain.intents)} intent examples, "
          f"{len(domain.questions)} questions -> {next(iter(paths.values())).parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
