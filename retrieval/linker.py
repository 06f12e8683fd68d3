"""``EntityLinker``: find entity mentions in free text (no brackets needed) and rank candidate entities.

Three candidate sources, cheapest first:

1. **exact**: a dictionary of normalized name/alias token n-grams (case-, accent- and
   punctuation-insensitive) gives every span of the text that is a name, in microseconds;
2. **fuzzy**: for typos, each word of the text and its one-edit neighbours (a SymSpell-style deletion map)
   fetch the names indexed under their rarest words; ``rapidfuzz`` scores each name against the text window
   it aligns to;
3. **dense** (optional, only when 1 and 2 find nothing convincing): a callable over the name vector index.

A **mention tagger** (optional, ``retrieval.tagging.MentionTagger``; the trained one is ``training.ner``) is asked
only when no exact or fuzzy match is confident. Its spans are scored with its own confidence in place of the word-shape
quality below, and get candidates of their own: names that contain the span's words (a partial name, "the Scott
film"), and dense hits for the span's text re-scored by string similarity (misspellings beyond one edit). Spans it
did not propose (nor overlap) lose ``tagger_weight`` of their score: it read the context the dictionary ignores.

A span's score is ``similarity * quality``. Quality grows with the span's words (function and question words
count a fifth), and with capitalization when the text is not all capitalized:
``1 - 0.5 ** (weight + 0.5 * cap)``.
So the longest match wins, "what"/"film" lose to a name, and a capitalized "Her" mid-sentence still links.
Entities of earlier turns (``context``) and their neighbours are boosted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kgagent.kg import KnowledgeGraph
from kgagent.kg.config import check_range
from kgagent.retrieval.passages import relation_phrase
from kgagent.retrieval.tagging import MentionTagger, Span
from kgagent.retrieval.text import FUNCTION_WORDS, QUESTION_WORDS, Token, name_key, tokenize

DenseSearch = Callable[[str, int], list[tuple[int, str, float]]]  # (text, k) -> [(entity, name, cosine)]
Hit = tuple[int, int, int, float, str]  # (first token, end token, name id, similarity, method)


@dataclass(frozen=True)
class Candidate:
    """An entity a mention may refer to: its id, the name or alias matched, a score and how it was found."""

    entity: int
    name: str
    score: float
    method: str  # "exact" | "fuzzy" | "dense"


@dataclass(frozen=True)
class Mention:
    """A span ``text[start:end]`` and its candidates, best first. ``ambiguous``: the top candidates score
    within the linker's margin (entities share the name, or a close call): ask the user which one."""

    start: int
    end: int
    text: str
    candidates: tuple[Candidate, ...]
    ambiguous: bool = False

    @property
    def entity(self) -> int:
        return self.candidates[0].entity

    @property
    def score(self) -> float:
        return self.candidates[0].score


@dataclass
class LinkerConfig:
    """Scoring knobs of the linker (defaults measured on MetaQA dev; see BENCHMARKS.md); ``[linker]`` of
    ``WS/kgagent.toml`` sets them for a workspace."""

    min_score: float = 0.2  # mentions below this are dropped (unless ``link(..., always=True)``)
    ambiguity_margin: float = 0.05  # top candidates closer than this are reported as ambiguous
    common_weight: float = 0.2  # weight of a function/question word in a span's length
    cap_weight: float = 0.5  # bonus length for a capitalized span (when capitals are informative)
    fuzzy_cutoff: float = 0.75  # minimum rapidfuzz ratio (0-1) of name vs text window
    known_word_fuzzy: float = 0.85  # fuzzy similarity factor when the window is one known word
    fuzzy_min_chars: int = 3  # words shorter than this get no one-edit neighbours
    max_postings: int = 2000  # words indexing more names than this are not used to fetch fuzzy candidates
    dense_below: float = 0.35  # run the dense search when the best mention scores below this
    dense_weight: float = 0.5  # a dense hit's similarity is its cosine times this
    context_boost: float = 0.15  # added for candidates adjacent to an entity of an earlier turn
    context_self_boost: float = 0.1  # added for an entity of an earlier turn itself
    case_bonus: float = 0.02  # the text has the name's exact capitalization
    prior_weight: float = 0.02  # times log-degree / max log-degree: popular entities win ties
    tagger_below: float = 0.6  # ask the tagger unless the best mention is an exact or fuzzy match scoring this
    tagger_weight: float = 0.3  # share of their score that spans the tagger did not propose lose
    tagger_bonus: float = 0.1  # times the tagger's confidence, added to the candidates of a span it proposed
    partial_extra_words: int = 2  # a tagged span may name an entity by its name less this many words
    tagged_dense_weight: float = 0.8  # a dense hit for a tagged span: max(cosine times this, string similarity)
    extra_common_words: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_range(self, "min_score", "ambiguity_margin", "common_weight", "cap_weight", "dense_below",
                    "dense_weight", "context_boost", "context_self_boost", "case_bonus", "prior_weight",
                    "tagger_below", "tagger_bonus", "partial_extra_words", "tagged_dense_weight")
        check_range(self, "tagger_weight", high=1.0)
        check_range(self, "fuzzy_cutoff", high=1.0, low_open=True)


class EntityLinker:
    """Link entity mentions of ``kg`` in free text.

    >>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott")])
    >>> m = EntityLinker(kg).link("who directed alien?")[0]
    >>> (m.text, kg.labels[m.entity])
    ('alien', 'Alien')
    """

    def __init__(
        self,
        kg: KnowledgeGraph,
        *,
        config: LinkerConfig | None = None,
        dense: DenseSearch | None = None,
        tagger: MentionTagger | None = None,
    ) -> None:
        self.kg = kg
        self.config = config or LinkerConfig()
        self.dense = dense
        self.tagger = tagger
        self._build()

    # ------------------------------------------------------------- tables
    def _build(self) -> None:
        kg = self.kg
        keys: dict[tuple[str, ...], int] = {}
        surfaces: list[list[tuple[int, str]]] = []  # name id -> [(entity, original surface form)]
        live = kg.degrees() > 0  # an entity that lost all its triples (``kgagent kg remove``) is not linked
        for e in range(kg.num_entities):
            if not live[e]:
                continue
            for surface in kg.names(e):
                key = name_key(surface)
                if not key:
                    continue
                nid = keys.setdefault(key, len(keys))
                if nid == len(surfaces):
                    surfaces.append([])
                if (e, surface) not in surfaces[nid]:
                    surfaces[nid].append((e, surface))
        self._keys = list(keys)
        self._exact = keys
        self._surfaces = surfaces
        self._strings = [" ".join(k) for k in self._keys]
        self._prefixes = {k[:n] for k in self._keys for n in range(1, len(k))}
        self.max_name_tokens = max((len(k) for k in self._keys), default=0)
        # names made only of punctuation ("$") need their symbols kept as tokens of the text
        self._symbols = frozenset(
            c for k in self._keys for w in k for c in w if not c.isalnum() and len(w) == 1
        )

        rel_words = {w for r in kg.relations for w in relation_phrase(r).split()}
        self.common = frozenset(
            FUNCTION_WORDS | QUESTION_WORDS | rel_words | {w.lower() for w in self.config.extra_common_words}
        )

        # fuzzy tables: each name is fetched through its two rarest words (a one-word typo leaves one intact)
        df: dict[str, int] = defaultdict(int)
        for k in self._keys:
            for w in set(k):
                df[w] += 1
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)  # word -> [(name id, position)]
        for nid, k in enumerate(self._keys):
            rare = sorted(set(k), key=lambda w: (w in self.common, df[w], w))[:2]
            for pos, w in enumerate(k):
                if w in rare:
                    postings[w].append((nid, pos))
        self._postings = dict(postings)
        self._name_words = frozenset(w for k in self._keys for w in k)  # every word of every name
        self._containing: dict[str, list[int]] | None = None  # word -> names with it (built for a tagger)
        deletes: dict[str, list[str]] = defaultdict(list)  # one-char deletion -> vocabulary words
        for w in self._postings:
            if len(w) >= self.config.fuzzy_min_chars and not w.isdigit():
                for d in _deletions(w):
                    deletes[d].append(w)
        self._deletes = dict(deletes)

        # small popularity prior from degree: log1p(deg) / log1p(max deg), (n_entities,)
        deg = np.zeros(kg.num_entities, dtype=np.float64)
        if kg.num_triples:
            deg += np.bincount(kg.triples[:, 0], minlength=kg.num_entities)
            deg += np.bincount(kg.triples[:, 2], minlength=kg.num_entities)
        logd = np.log1p(deg)
        self._prior = (logd / logd.max() if logd.max() > 0 else logd) * self.config.prior_weight

    # ------------------------------------------------------------- linking
    def link(
        self, text: str, context: Iterable[int] = (), *, top_k: int = 5, always: bool = False
    ) -> list[Mention]:
        """Entity mentions in ``text``, best first, non-overlapping, each with up to ``top_k`` candidates.

        ``context``: entity ids of earlier turns; candidates equal or adjacent to them are boosted.
        ``always``: return the best mention even when it scores below ``min_score``.
        """
        cfg = self.config
        tokens = tokenize(text, self._symbols)
        if not tokens:
            return []
        caps = [t.capitalized for t in tokens]
        # capitals carry information only when most words are not capitalized
        informative_caps = sum(caps) <= 0.6 * len(tokens)
        ctx = self._context(context)
        exact = self._exact_spans(tokens)
        hits: list[Hit] = [(i, j, nid, 1.0, "exact") for i, j, nid in exact]
        fuzzy = self._fuzzy_spans(tokens, {(i, j) for i, j, _ in exact})
        hits += [(i, j, nid, sim, "fuzzy") for i, j, nid, sim in fuzzy]
        spans = self._score(text, tokens, hits, ctx, caps, informative_caps)
        mentions = self._select(text, tokens, spans, top_k)
        tagged: dict[tuple[int, int], float] = {}
        if self.tagger is not None and not self._confident(mentions, tokens, informative_caps):
            tagged = self._tag_ranges(tokens, self.tagger.tag([text])[0])
            if tagged:
                hits += self._tagged_hits(text, tokens, tagged)
                spans = self._score(text, tokens, hits, ctx, caps, informative_caps, tagged)
                mentions = self._select(text, tokens, spans, top_k)
        # where the tagger placed the mention, its spans had their own dense queries: the whole text's is moot
        weak = not mentions or (not tagged and mentions[0].score < cfg.dense_below)
        if self.dense is not None and weak:
            mentions = self._select(
                text, tokens, self._dense_spans(text, tokens, spans, ctx, caps, informative_caps), top_k
            )
        keep = [m for m in mentions if m.score >= cfg.min_score]
        if always and not keep and mentions:
            keep = mentions[:1]
        return keep

    def _confident(self, mentions: list[Mention], tokens: Sequence[Token], informative_caps: bool) -> bool:
        """The best mention is an exact or fuzzy match scoring ``tagger_below`` and no capitalized word it left
        out touches it ("the Slate Pro" matched as "Slate" is a longer name, only partly known)."""
        if not mentions or mentions[0].candidates[0].method == "dense" or mentions[0].score < self.config.tagger_below:
            return False
        if not informative_caps:
            return True
        m = mentions[0]
        return not any(k > 0 and t.capitalized and t.norm not in self.common
                       and (0 <= m.start - t.end <= 1 or 0 <= t.start - m.end <= 1) for k, t in enumerate(tokens))

    def _score(
        self,
        text: str,
        tokens: Sequence[Token],
        hits: Iterable[Hit],
        ctx: dict[int, float],
        caps: list[bool],
        informative_caps: bool,
        tagged: dict[tuple[int, int], float] | None = None,
    ) -> dict[tuple[int, int], dict[int, tuple[float, str, str]]]:
        """``(i, j) token span -> entity -> (score, name, method)`` for every hit; ``tagged``: the tagger's
        spans and confidences (their quality is at least that confidence; untagged spans are discounted)."""
        cfg = self.config
        spans: dict[tuple[int, int], dict[int, tuple[float, str, str]]] = defaultdict(dict)
        quality: dict[tuple[int, int], tuple[float, float]] = {}  # span -> (factor on similarity, bonus)
        for i, j, nid, sim, method in hits:
            if (i, j) not in quality:
                q = self._quality(tokens, i, j, caps, informative_caps)
                if tagged is None or any(a < j and i < b for a, b in tagged if (a, b) != (i, j)):
                    quality[(i, j)] = (q, 0.0)  # no tagging, or the tagger's span overlaps it: no say
                elif (i, j) in tagged:
                    quality[(i, j)] = (max(q, tagged[(i, j)]), cfg.tagger_bonus * tagged[(i, j)])
                else:
                    quality[(i, j)] = (q * (1.0 - cfg.tagger_weight), 0.0)
            q, bonus = quality[(i, j)]
            raw = text[tokens[i].start : tokens[j - 1].end]
            bucket = spans[(i, j)]
            for e, surface in self._surfaces[nid]:
                s = sim * q + bonus + float(self._prior[e]) + (cfg.case_bonus if raw == surface else 0.0)
                s += ctx.get(e, 0.0)
                if s > bucket.get(e, (-1.0,))[0]:
                    bucket[e] = (s, surface, method)
        return spans

    @staticmethod
    def _tag_ranges(tokens: Sequence[Token], tagged: Sequence[Span]) -> dict[tuple[int, int], float]:
        """The tagger's character spans as token spans ``(i, j)`` with their confidence."""
        out: dict[tuple[int, int], float] = {}
        for sp in tagged:
            idx = [k for k, t in enumerate(tokens) if t.end > sp.start and t.start < sp.end]
            if idx:
                key = (idx[0], idx[-1] + 1)
                out[key] = max(out.get(key, 0.0), float(sp.score))
        return out

    def _tagged_hits(self, text: str, tokens: Sequence[Token], tagged: dict[tuple[int, int], float]) -> list[Hit]:
        """Candidates for the tagger's spans: names containing the span's words, else dense hits for its text
        (a dense query costs a forward pass of the encoder, more than the tagger's own)."""
        from rapidfuzz.distance import Indel

        cfg = self.config
        words = [t.norm for t in tokens]
        out: list[Hit] = []
        for i, j in tagged:
            span = tuple(words[i:j])
            target = " ".join(span)
            partial = self._partial_names(span)
            for nid in partial:
                out.append((i, j, nid, Indel.normalized_similarity(self._strings[nid], target), "partial"))
            if self.dense is not None and not partial:
                for _, name, cos in self.dense(text[tokens[i].start : tokens[j - 1].end], 10):
                    nid = self._exact.get(name_key(name))
                    if nid is not None:
                        sim = max(cfg.tagged_dense_weight * float(cos),
                                  Indel.normalized_similarity(self._strings[nid], target))
                        out.append((i, j, nid, sim, "dense"))
        return out

    def _partial_names(self, span: tuple[str, ...]) -> list[int]:
        """Names with every word of ``span`` in order and at most ``partial_extra_words`` more ("pulse max" ->
        "Lumora Pulse Max"); fetched through the span's rarest word."""
        if self._containing is None:
            containing: dict[str, list[int]] = defaultdict(list)
            for nid, k in enumerate(self._keys):
                for w in set(k):
                    containing[w].append(nid)
            self._containing = dict(containing)
        content = [w for w in span if w not in self.common] or list(span)
        lists = [self._containing.get(w, []) for w in content]
        if not lists or not all(lists):
            return []
        rarest = min(lists, key=len)
        if len(rarest) > self.config.max_postings:
            return []
        out = []
        for nid in rarest:
            key = self._keys[nid]
            if len(span) < len(key) <= len(span) + self.config.partial_extra_words and _in_order(span, key):
                out.append(nid)
        return out

    def _exact_spans(self, tokens: Sequence[Token]) -> list[tuple[int, int, int]]:
        """Every ``(i, j, name id)`` with ``tokens[i:j]`` a name; prefixes stop the scan early."""
        words = [t.norm for t in tokens]
        out = []
        for i in range(len(words)):
            for j in range(i + 1, min(len(words), i + self.max_name_tokens) + 1):
                key = tuple(words[i:j])
                nid = self._exact.get(key)
                if nid is not None:
                    out.append((i, j, nid))
                if key not in self._prefixes:
                    break
        return out

    def _fuzzy_spans(
        self, tokens: Sequence[Token], exact: set[tuple[int, int]]
    ) -> list[tuple[int, int, int, float]]:
        """``(i, j, name id, similarity)`` for names close to a text window but not equal to it."""
        from rapidfuzz.distance import Indel

        cfg = self.config
        words = [t.norm for t in tokens]
        seen: set[tuple[int, int, int]] = set()
        out = []
        for k, w in enumerate(words):
            if w in self.common:  # question words: most of the text, and rarely a misspelt name
                continue
            for v in self._neighbours(w):
                post = self._postings.get(v)
                if post is None or len(post) > cfg.max_postings:
                    continue
                for nid, pos in post:
                    i = k - pos
                    j = i + len(self._keys[nid])
                    if i < 0 or j > len(words) or (i, j) in exact or (i, j, nid) in seen:
                        continue
                    seen.add((i, j, nid))
                    # Indel normalized similarity == rapidfuzz fuzz.ratio / 100
                    sim = Indel.normalized_similarity(
                        self._strings[nid], " ".join(words[i:j]), score_cutoff=cfg.fuzzy_cutoff
                    )
                    if not sim:
                        continue
                    # a typo changes a word or two, not most ("Lumora stores in" is no "Lumora Store Milan")
                    wrong = sum(a != b for a, b in zip(self._keys[nid], words[i:j], strict=True))
                    if wrong <= max(1, (j - i) // 3):
                        # a known single word is less likely a typo of a name than an unknown word is
                        known = j - i == 1 and words[i] in self._name_words
                        out.append((i, j, nid, sim * (cfg.known_word_fuzzy if known else 1.0)))
        return out

    def _neighbours(self, w: str) -> set[str]:
        """``w`` and the vocabulary words one insertion, deletion, substitution or transposition away."""
        out = {w} if w in self._postings else set()
        if len(w) < self.config.fuzzy_min_chars - 1 or w.isdigit():
            return out
        out.update(self._deletes.get(w, ()))  # w lost a character
        for d in _deletions(w):
            if d in self._postings and len(d) >= self.config.fuzzy_min_chars:
                out.add(d)  # w gained a character
            out.update(self._deletes.get(d, ()))  # substitution / transposition
        return out

    def _dense_spans(
        self,
        text: str,
        tokens: Sequence[Token],
        spans: dict,
        ctx: dict[int, float],
        caps: list[bool],
        informative_caps: bool,
    ) -> dict:
        """Add dense name-index hits, each placed at the text window its name matches best."""
        from rapidfuzz.distance import Indel

        cfg = self.config
        words = [t.norm for t in tokens]
        for e, name, cos in self.dense(text, 10):  # type: ignore[misc]
            key = name_key(name)
            n = max(1, min(len(key), len(words)))
            target = " ".join(key)
            sims = [
                Indel.normalized_similarity(target, " ".join(words[s : s + n]))
                for s in range(len(words) - n + 1)
            ]
            i = max(range(len(sims)), key=sims.__getitem__)
            q = self._quality(tokens, i, i + n, caps, informative_caps)
            s = cfg.dense_weight * float(cos) * q + float(self._prior[e]) + ctx.get(e, 0.0)
            bucket = spans[(i, i + n)]
            if s > bucket.get(e, (-1.0,))[0]:
                bucket[e] = (s, name, "dense")
        return spans

    def _quality(
        self, tokens: Sequence[Token], i: int, j: int, caps: list[bool], informative_caps: bool
    ) -> float:
        """``1 - 0.5 ** (weight + cap)`` in (0, 1): long, contentful, capitalized spans look like names."""
        cfg = self.config
        weight = sum(cfg.common_weight if tokens[k].norm in self.common else 1.0 for k in range(i, j))
        cap = 0.0
        # A name starts with a capital; then the share of its content words capitalized counts (a typo may
        # have lower-cased one). The first word of the text is capitalized anyway, so it proves nothing.
        first = i + 1 if i == 0 else i
        if informative_caps and first < j and caps[i]:
            content = [k for k in range(first, j) if tokens[k].norm not in self.common] or [first]
            cap = cfg.cap_weight * sum(caps[k] for k in content) / len(content)
        return 1.0 - 0.5 ** (weight + cap)

    def _context(self, context: Iterable[int]) -> dict[int, float]:
        """Boost per entity: the context entities themselves and their one-hop neighbours."""
        boost: dict[int, float] = {}
        ctx = [int(e) for e in context if 0 <= int(e) < self.kg.num_entities]
        for e in ctx:
            for forward, col in ((True, 2), (False, 0)):
                for n in self.kg.triples[self.kg.edges(e, forward=forward), col].tolist():
                    boost[n] = max(boost.get(n, 0.0), self.config.context_boost)
        for e in ctx:
            boost[e] = max(boost.get(e, 0.0), self.config.context_self_boost)
        return boost

    def _select(self, text: str, tokens: Sequence[Token], spans: dict, top_k: int) -> list[Mention]:
        """Greedy non-overlapping choice of spans by their best candidate's score."""
        ranked = sorted(
            ((max(c[0] for c in cands.values()), i, j) for (i, j), cands in spans.items() if cands),
            key=lambda x: (-x[0], -(x[2] - x[1]), x[1]),
        )
        used = [False] * len(tokens)
        out: list[Mention] = []
        for _, i, j in ranked:
            if any(used[i:j]):
                continue
            used[i:j] = [True] * (j - i)
            cands = sorted(spans[(i, j)].items(), key=lambda kv: (-kv[1][0], kv[0]))[:top_k]
            cs = tuple(Candidate(e, name, round(s, 6), method) for e, (s, name, method) in cands)
            ambiguous = len(cs) > 1 and cs[0].score - cs[1].score < self.config.ambiguity_margin
            start, end = tokens[i].start, tokens[j - 1].end
            out.append(Mention(start, end, text[start:end], cs, ambiguous))
        return out


def _in_order(part: Sequence[str], whole: Sequence[str]) -> bool:
    """Every word of ``part`` occurs in ``whole``, in the same order (others may come between)."""
    it = iter(whole)
    return all(w in it for w in part)


def _deletions(w: str) -> set[str]:
    return {w[:i] + w[i + 1 :] for i in range(len(w))}
