"""The evidence panel, drawn on the server: answer paths, the evidence triples, and an SVG picture of that subgraph.

Plain strings of HTML/SVG (no plotting library, no browser script), so one panel costs about a millisecond and
can sit inside a chat message. The picture is laid out left to right by hops from the question's entities:
the topic in the first column, then what each hop reaches, with answers highlighted.

>>> tr = [{"triple": 0, "head": "Alien", "relation": "directed_by", "tail": "Ridley Scott"}]
>>> "<svg" in subgraph_svg(tr, topic=["Alien"], answers=["Ridley Scott"])
True
"""

from __future__ import annotations

import html
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kgagent.ui.translate import TurnView

# colours of node roles (fill, stroke, text)
ROLE_STYLE = {"topic": ("#4338ca", "#312e81", "#ffffff"), "answer": ("#fef3c7", "#d97706", "#78350f"),
              "other": ("#f1f5f9", "#94a3b8", "#0f172a")}
COL_GAP, ROW_GAP, MARGIN, NODE_H, CHAR_W = 120, 54, 20, 30, 7.0
MAX_LABEL = 24


@dataclass
class _Node:
    label: str
    role: str
    layer: int = 0
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        return min(len(self.label), MAX_LABEL) * CHAR_W + 20


def _short(text: str, n: int = MAX_LABEL) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _layout(triples: Sequence[dict], topic: Iterable[str], answers: Iterable[str]) -> dict[str, _Node]:
    """Nodes by label, in columns of hops from the topic entities (BFS over the undirected triples)."""
    topic, answers = [t for t in topic], set(answers)
    adj: dict[str, set[str]] = defaultdict(set)
    order: list[str] = []
    for t in triples:
        for a, b in ((t["head"], t["tail"]), (t["tail"], t["head"])):
            adj[a].add(b)
            if a not in order:
                order.append(a)
    starts = [n for n in topic if n in adj] or sorted(order, key=lambda n: -len(adj[n]))[:1]
    layer: dict[str, int] = {n: 0 for n in starts}
    queue = deque(starts)
    while queue:
        n = queue.popleft()
        for m in sorted(adj[n], key=order.index):
            if m not in layer:
                layer[m] = layer[n] + 1
                queue.append(m)
    for n in order:  # pieces not connected to the topic: one column further
        layer.setdefault(n, max(layer.values(), default=0) + 1)
    nodes = {n: _Node(n, "topic" if n in starts else "answer" if n in answers else "other", layer[n]) for n in order}

    columns: dict[int, list[str]] = defaultdict(list)
    for n in order:
        columns[nodes[n].layer].append(n)
    height = max(len(c) for c in columns.values()) * ROW_GAP
    left = float(MARGIN)  # each column as wide as its widest node, then a gap wide enough for an edge label
    for col in sorted(columns):
        names = columns[col]
        if col > 0:  # barycentre of the neighbours already placed: fewer crossing edges
            names.sort(key=lambda n: _mean([nodes[m].y for m in adj[n] if nodes[m].layer < col] or [0.0]))
        top = MARGIN + (height - len(names) * ROW_GAP) / 2
        col_width = max(nodes[n].width for n in names)
        for i, n in enumerate(names):
            nodes[n].x = left + col_width / 2
            nodes[n].y = top + i * ROW_GAP + ROW_GAP / 2
        left += col_width + COL_GAP
    return nodes


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def subgraph_svg(triples: Sequence[dict], *, topic: Iterable[str] = (), answers: Iterable[str] = (),
                 max_triples: int = 24) -> str:
    """An SVG picture of ``triples`` (``{"head", "relation", "tail"}`` labels): topic, hops, answers."""
    triples = list(triples)[:max_triples]
    if not triples:
        return ""
    nodes = _layout(triples, topic, answers)
    width = max(n.x + n.width / 2 for n in nodes.values()) + MARGIN
    height = max(n.y for n in nodes.values()) + ROW_GAP / 2 + MARGIN
    parts = [f'<svg class="kg-graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
             f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="evidence subgraph" '
             'font-family="var(--font, system-ui, sans-serif)">',
             '<defs><marker id="kg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>']
    # parallel edges between the same two nodes share one line, with their relations joined
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in triples:
        if t["relation"] not in edges[(t["head"], t["tail"])]:
            edges[(t["head"], t["tail"])].append(t["relation"])
    for (h, t), rels in edges.items():
        a, b = nodes[h], nodes[t]
        x1, y1, x2, y2 = _clip(a, b), a.y, _clip(b, a), b.y
        if a.layer == b.layer:  # same column: bend the edge out to the side
            bend = max(a.width, b.width) / 2 + 40
            x1, x2 = a.x + a.width / 2, b.x + b.width / 2
            path = f"M{x1:.1f},{y1:.1f} C{a.x + bend:.1f},{y1:.1f} {b.x + bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            lx, ly = a.x + bend - 6, (y1 + y2) / 2
        else:
            path = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
            # the label sits past the middle, counted from the column nearer the topic: edges fanning out of
            # one node have spread apart there
            (nx, ny), (fx, fy) = ((x1, y1), (x2, y2)) if a.layer < b.layer else ((x2, y2), (x1, y1))
            lx, ly = nx + 0.6 * (fx - nx), ny + 0.6 * (fy - ny) - 5
        label = html.escape(_short(", ".join(rels), 30))
        full = html.escape(f"{h} — {', '.join(rels)} → {t}")
        parts.append(f'<g class="kg-edge"><title>{full}</title><path d="{path}" fill="none" stroke="#64748b" '
                     f'stroke-width="1.4" marker-end="url(#kg-arrow)"/><text x="{lx:.1f}" y="{ly:.1f}" '
                     f'font-size="10.5" text-anchor="middle" fill="#334155" stroke="#ffffff" stroke-width="3" '
                     f'paint-order="stroke">{label}</text></g>')
    for n in nodes.values():
        fill, stroke, ink = ROLE_STYLE[n.role]
        parts.append(f'<g class="kg-node kg-{n.role}"><title>{html.escape(n.label)}</title>'
                     f'<rect x="{n.x - n.width / 2:.1f}" y="{n.y - NODE_H / 2:.1f}" width="{n.width:.1f}" '
                     f'height="{NODE_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
                     f'<text x="{n.x:.1f}" y="{n.y + 4:.1f}" font-size="12" text-anchor="middle" fill="{ink}">'
                     f"{html.escape(_short(n.label))}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def _clip(a: _Node, b: _Node) -> float:
    """The x where an edge from ``a`` towards ``b`` leaves ``a``'s box (left or right side)."""
    if abs(b.x - a.x) < 1:
        return a.x
    return a.x + (a.width / 2 if b.x > a.x else -a.width / 2)


def path_html(path: Sequence[Sequence], triples: dict[int, dict]) -> str:
    """One evidence path (``[[triple_id, forward], ...]``) as ``A —rel→ B ←rel— C``."""
    out: list[str] = []
    for i, (tid, forward) in enumerate(path):
        t = triples.get(int(tid))
        if t is None:
            return ""
        start, end = (t["head"], t["tail"]) if forward else (t["tail"], t["head"])
        if i == 0:
            out.append(f"<b>{html.escape(start)}</b>")
        rel = html.escape(t["relation"])
        out.append(f'<span class="kg-rel">—{rel}→</span>' if forward else f'<span class="kg-rel">←{rel}—</span>')
        out.append(html.escape(end) if i < len(path) - 1 else f'<b class="kg-answer">{html.escape(end)}</b>')
    return " ".join(out)


def evidence_html(view: TurnView, *, max_picture_triples: int = 24, max_paths: int = 8, max_rows: int = 40) -> str:
    """The evidence panel of a finished turn: answer paths, a picture of the evidence subgraph, the triples."""
    evidence = view.evidence
    by_id = {int(t["triple"]): t for t in evidence}
    topic = [e["label"] for e in view.state.get("entities") or []]
    answers = [a["label"] for a in view.answers]
    lines = []
    for a in view.answers:
        for p in (a.get("paths") or [])[:1]:
            if (line := path_html(p, by_id)) and len(lines) < max_paths:
                lines.append(f"<li>{line}</li>")
    parts = ['<div class="kg-evidence">']
    if lines:
        more = len(view.answers) - len(lines)
        tail = f'<li class="kg-more">… and {more} more</li>' if more > 0 else ""
        parts.append(f'<div class="kg-h">Answer paths</div><ul class="kg-paths">{"".join(lines)}{tail}</ul>')
    svg = subgraph_svg(evidence, topic=topic, answers=answers, max_triples=max_picture_triples)
    if svg:
        parts.append(f'<div class="kg-h">Subgraph</div><div class="kg-picture">{svg}</div>')
    rows = "".join(f"<tr><td>{html.escape(t['head'])}</td><td><code>{html.escape(t['relation'])}</code></td>"
                   f"<td>{html.escape(t['tail'])}</td></tr>" for t in evidence[:max_rows])
    if len(evidence) > max_rows:
        rows += f'<tr><td colspan="3" class="kg-more">… and {len(evidence) - max_rows} more triples</td></tr>'
    n = len(evidence)
    parts.append(f'<details class="kg-details"><summary>{n} evidence triple{"s" * (n != 1)}</summary>'
                 '<table class="kg-triples"><thead><tr><th>head</th><th>relation</th><th>tail</th></tr></thead>'
                 f"<tbody>{rows}</tbody></table></details>")
    passages = view.state.get("passages") or []
    if passages:
        items = "".join(f"<li>{html.escape(p.get('text', ''))} <span class='kg-src'>"
                        f"{html.escape(str(p.get('source', '')))}</span></li>" for p in passages[:3])
        parts.append(f'<details class="kg-details"><summary>{len(passages[:3])} retrieved passages</summary>'
                     f'<ul class="kg-passages">{items}</ul></details>')
    parts.append("</div>")
    return "".join(parts)
