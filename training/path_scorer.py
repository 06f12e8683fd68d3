"""Zero-shot relation-path scores: how close a question is, in a general sentence encoder's space, to the ways
each relation path has been asked.

The trained path head learns the wordings it was trained on; a user who says "couple" for spouse or "nation" for
nationality steps outside them. A pretrained sentence encoder (all-MiniLM-L6-v2 by default, the same one the
linker uses) was trained on paraphrase pairs: the mean vector of a path's questions (its *prototype*) stays
close to new wordings of the same request. The QA model mixes these scores with the head's probabilities.

>>> scorer = PathScorer.fit(encoder, ["who directed X", "what genre is X"],  # doctest: +SKIP
...                         [("directed_by",), ("has_genre",)], [("directed_by",), ("has_genre",)])
>>> scorer.similarity(["which person was the director of X"]).argmax()  # doctest: +SKIP
0
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.errors import WorkspaceError
from kgagent.training.qa_paths import RelPath


@dataclass
class PathScorer:
    """Unit prototype vectors ``(n_paths, d)`` of the paths, in the order of the QA model's path vocabulary."""

    prototypes: np.ndarray
    encoder_name: str
    encoder: Any = None  # a retrieval.TextEncoder, loaded on first use

    @classmethod
    def fit(cls, encoder: Any, texts: Sequence[str], labels: Sequence[RelPath], paths: Sequence[RelPath], *,
            vectors: dict[int, np.ndarray] | None = None, extra: dict[RelPath, list[str]] | None = None,
            progress: bool = False) -> PathScorer:
        """Prototypes from questions ``texts`` asking ``labels`` (their topic masked), plus ``extra`` phrasings
        per path (a lexicon's); a path with no text gets a zero vector (similarity 0 to everything).
        ``vectors[i]``: text i's vector in ``encoder``'s space when the caller has it already (it is not encoded
        again; any length, it is normalized)."""
        rows: list[tuple[RelPath, str, int | None]] = [(tuple(label), text, i) for i, (text, label)
                                                        in enumerate(zip(texts, labels, strict=True))]
        rows += [(tuple(path), text, None) for path, more in (extra or {}).items() for text in more]
        index = {tuple(p): i for i, p in enumerate(paths)}
        rows = [r for r in rows if r[0] in index]
        known = vectors or {}
        todo = [text for _, text, i in rows if i not in known]
        fresh = iter(encoder.encode(todo, progress=progress, desc="path prototypes") if todo else [])
        protos = np.zeros((len(paths), encoder.dim), dtype=np.float32)
        for path, _, i in rows:
            v = np.asarray(known[i], dtype=np.float32) if i in known else next(fresh)
            protos[index[path]] += v / max(float(np.linalg.norm(v)), 1e-12)
        norms = np.linalg.norm(protos, axis=1, keepdims=True)
        protos = np.divide(protos, norms, out=np.zeros_like(protos), where=norms > 0)
        return cls(protos, encoder.name, encoder)

    def similarity(self, texts: Sequence[str], vectors: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
        """Cosine similarity ``(n, n_paths)`` of each text to each path's prototype. ``vectors[i]``: text i's
        vector in the encoder's space when the caller has it (None: encoded here; any length, it is normalized)."""
        have = list(vectors) if vectors is not None else [None] * len(texts)
        todo = [i for i, v in enumerate(have) if v is None]
        out = np.zeros((len(texts), self.prototypes.shape[1]), dtype=np.float32)
        if todo:
            if self.encoder is None:
                from kgagent.retrieval.encoder import TextEncoder

                self.encoder = TextEncoder(self.encoder_name)
            out[todo] = self.encoder.encode([texts[i] for i in todo])
        for i, v in enumerate(have):
            if v is not None:
                out[i] = np.asarray(v, dtype=np.float32) / max(float(np.linalg.norm(v)), 1e-12)
        return out @ self.prototypes.T

    def save(self, directory: str | Path) -> None:
        """``path_prototypes.safetensors`` + ``path_scorer.json`` in ``directory`` (inside an atomic folder)."""
        from safetensors.numpy import save_file

        directory = Path(directory)
        save_file({"prototypes": np.ascontiguousarray(self.prototypes)}, str(directory / "path_prototypes.safetensors"))
        (directory / "path_scorer.json").write_text(json.dumps({"encoder": self.encoder_name}) + "\n",
                                                    encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, n_paths: int, encoder: Any = None) -> PathScorer | None:
        """The saved scorer of a QA model folder, or None when it has none (a model saved before it existed)."""
        from safetensors.numpy import load_file

        directory = Path(directory)
        meta, weights = directory / "path_scorer.json", directory / "path_prototypes.safetensors"
        if not meta.is_file():
            return None
        try:
            name = json.loads(meta.read_text(encoding="utf-8"))["encoder"]
            protos = load_file(str(weights))["prototypes"]
        except (OSError, ValueError, KeyError) as e:
            raise WorkspaceError(f"{weights}: unreadable path prototypes ({e}); retrain with `kgagent train qa`") \
                from e
        if protos.shape[0] != n_paths:
            raise WorkspaceError(f"{weights}: {protos.shape[0]} prototypes for {n_paths} paths; retrain the QA model")
        if encoder is not None and getattr(encoder, "name", None) != name:
            encoder = None
        return cls(protos, name, encoder)


def combine(path_probs: np.ndarray, similarity: np.ndarray, *, weight: float, temperature: float) -> np.ndarray:
    """A product of experts over paths: ``softmax((1 - weight) * log p_head + weight * sim / temperature)``.
    ``weight`` 0 keeps the head alone; 1 the similarity alone."""
    logits = (1 - weight) * np.log(np.clip(path_probs, 1e-12, None)) + weight * similarity / temperature
    logits = logits - logits.max(-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)
