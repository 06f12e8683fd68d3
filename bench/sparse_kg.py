"""A sparse Freebase-style KG: hundreds of rare relations, fewer triples than entities, ids as names.

The shape of a slice cut from a Freebase dump: relation names as paths in three styles
(``__film__film__cinematographer``, ``/film/film/cinematographer``, ``film.film.cinematographer``), entity ids
used as names (``m.0abc12``), some relations stored twice as explicit inverse twins (``r`` and ``r_inverse``,
``r_reverse``, ``r.reverse``), relation frequencies and entity degrees following power laws, and most entities
seen once. The tests build it at a tiny size; the benchmark writes it at full size and times
``kgagent build`` on it with default settings:

    python bench/sparse_kg.py --out /tmp/sparse.tsv
    /usr/bin/time -v kgagent build /tmp/sparse.tsv --workspace /tmp/sparse-ws
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

DOMAINS = {
    "film": ["film", "actor", "director", "performance", "genre", "festival"],
    "music": ["album", "artist", "recording", "track", "genre", "label"],
    "people": ["person", "profession", "place_lived", "marriage", "ethnicity"],
    "location": ["location", "country", "citytown", "administrative_division"],
    "sports": ["sports_team", "pro_athlete", "sports_league", "team_roster"],
    "book": ["book", "author", "written_work", "publisher", "edition"],
    "education": ["educational_institution", "university", "degree", "student"],
    "organization": ["organization", "founder", "leadership", "membership"],
    "tv": ["tv_program", "tv_actor", "tv_series_episode", "tv_network"],
    "award": ["award_category", "award_nominee", "award_winner", "ceremony"],
}
PROPERTIES = ["cinematographer", "produced_by", "edited_by", "featured_in", "nominated_for", "contains",
              "place_of_birth", "nationality", "languages", "genre", "release_date", "located_in", "member_of",
              "founded_by", "country", "subjects", "instrument", "label", "parent", "children", "spouse",
              "employer", "position", "venue", "sport", "team", "winner", "category", "author", "publisher",
              "series", "episode", "network", "program_creator", "school", "major_field", "headquarters"]
STYLES = ("underscore", "slash", "dotted")
INVERSE_SUFFIX = {"underscore": "_inverse", "slash": "_reverse", "dotted": ".reverse"}


def relation_name(domain: str, kind: str, prop: str, style: str) -> str:
    """``film``, ``film``, ``cinematographer`` in a Freebase naming style."""
    if style == "underscore":
        return f"__{domain}__{kind}__{prop}"
    if style == "slash":
        return f"/{domain}/{kind}/{prop}"
    return f"{domain}.{kind}.{prop}"


def mid(rng: np.random.Generator) -> str:
    """A Freebase machine id such as ``m.0abc12``."""
    alphabet = "0123456789bcdfghjklmnpqrstvwxyz_"
    return "m.0" + "".join(rng.choice(list(alphabet), size=int(rng.integers(4, 7))))


def sparse_freebase_triples(n_relations: int = 363, n_triples: int = 4200, *, fresh: float = 0.8,
                            inverse_share: float = 0.15, style: str = "mixed",
                            seed: int = 0) -> list[tuple[str, str, str]]:
    """About ``n_triples`` triples over ``n_relations`` relations (explicit inverse twins included).

    Relation frequency is Zipf-like (every relation has at least one triple); each triple end is a fresh entity
    with probability ``fresh`` (so entities outnumber triples), otherwise a hub drawn with power-law weights.
    ``style``: one of :data:`STYLES`, or ``"mixed"`` (each relation its own style).
    """
    if style != "mixed" and style not in STYLES:
        raise ValueError(f"style must be 'mixed' or one of {STYLES}, not {style!r}")
    rng = np.random.default_rng(seed)
    names: list[str] = []
    twins: dict[str, str] = {}  # base relation -> its stored inverse
    combos = [(d, k, p) for d, kinds in DOMAINS.items() for k in kinds for p in PROPERTIES]
    rng.shuffle(combos)
    for d, k, p in itertools.cycle(combos):
        if len(names) >= n_relations:
            break
        s = STYLES[len(names) % 3] if style == "mixed" else style
        names.append(relation_name(d, k, p, s))
        if rng.random() < inverse_share and len(names) < n_relations:
            twins[names[-1]] = names[-1] + INVERSE_SUFFIX[s]
            names.append(twins[names[-1]])
    base = [r for r in names if r not in twins.values()]
    # forward triples per base relation: Zipf over a random order, at least 1; twins repeat them reversed
    weights = 1.0 / np.arange(1, len(base) + 1) ** 1.1
    rng.shuffle(weights)
    n_forward = max(len(base), round(n_triples / (1 + len(twins) / len(base))))
    counts = 1 + rng.multinomial(n_forward - len(base), weights / weights.sum())

    hubs = sorted({mid(rng) for _ in range(max(20, n_triples // 6))})
    hub_weights = 1.0 / np.arange(1, len(hubs) + 1) ** 0.9
    hub_weights /= hub_weights.sum()

    def entity() -> str:
        return mid(rng) if rng.random() < fresh else hubs[rng.choice(len(hubs), p=hub_weights)]

    triples: list[tuple[str, str, str]] = []
    for r, c in zip(base, counts, strict=True):
        for _ in range(int(c)):
            h, t = entity(), entity()
            if h == t:
                continue
            triples.append((h, r, t))
            if r in twins:
                triples.append((t, twins[r], h))
    return list(dict.fromkeys(triples))


def write_tsv(triples: list[tuple[str, str, str]], path: str | Path) -> Path:
    path = Path(path)
    path.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in triples), encoding="utf-8")
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="TSV file to write (head, relation, tail)")
    p.add_argument("--relations", type=int, default=363)
    p.add_argument("--triples", type=int, default=4200)
    p.add_argument("--style", default="mixed", choices=["mixed", *STYLES])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    triples = sparse_freebase_triples(args.relations, args.triples, style=args.style, seed=args.seed)
    write_tsv(triples, args.out)
    entities = {e for h, _, t in triples for e in (h, t)}
    print(f"{args.out}: {len(triples)} triples, {len({r for _, r, _ in triples})} relations, "
          f"{len(entities)} entities")


if __name__ == "__main__":
    main()
