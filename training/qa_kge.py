"""KGE interactions over raw vectors, for QA: score every entity as a tail (or head) of ``(h, r)``.

The QA answer scorer needs the interaction differentiable in a *predicted* relation vector, and the soft
traversal needs one row of scores per entity lacking an edge; both are one matmul (or one ``cdist``) against the
entity matrix. One small class per interaction family, in a registry keyed by the PyKEEN model name.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from kgagent.kg.errors import ConfigError


class KGEScorer:
    """Scores of all entities as tails (``tails``) or heads (``heads``) of a (relation vector, entity) pair.

    ``entity`` ``(n_e, d)`` and ``relation`` ``(n_r, d_r)`` are the model's native representations (complex dtype
    for complex models). Shapes: ``h`` ``(b, d)``, ``r`` ``(b, d_r)`` -> scores ``(b, n_e)``; higher is better.
    """

    complex: ClassVar[bool] = False

    def __init__(self, entity: torch.Tensor, relation: torch.Tensor, *, inverse: torch.Tensor | None = None,
                 **kwargs: Any) -> None:
        self.entity = entity
        self.relation = relation
        self.inverse = inverse  # (n_r, d_r) learned inverse relations (PyKEEN inverse triples), or None
        self._flat: torch.Tensor | None = None

    @property
    def flat(self) -> torch.Tensor:
        """The entity matrix as one contiguous real ``(n_e, 2d)`` block ``[re | im]`` (as is for real models):
        a complex tensor's ``.real`` is a strided view, and a matmul over it is ~20x slower than over this."""
        if self._flat is None:
            e = self.entity.detach()
            self._flat = torch.cat([e.real, e.imag], -1).contiguous() if self.complex else e.contiguous()
        return self._flat

    @property
    def num_entities(self) -> int:
        return int(self.entity.shape[0])

    @property
    def rel_dim(self) -> int:
        """Size of a relation vector in *real* numbers (what a head predicting one must output)."""
        d = int(self.relation.shape[1])
        return 2 * d if self.complex else d

    def relation_from_real(self, r: torch.Tensor) -> torch.Tensor:
        """``(b, rel_dim)`` real -> the native relation representation ``(b, d_r)``."""
        if self.complex:
            half = r.shape[-1] // 2
            return torch.complex(r[..., :half].contiguous(), r[..., half:].contiguous())
        return r

    def relation_to_real(self, r: torch.Tensor) -> torch.Tensor:
        return torch.cat([r.real, r.imag], dim=-1) if self.complex else r

    def tails(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def heads(self, t: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def step(self, entities: torch.Tensor, relation: int, forward: bool) -> torch.Tensor:
        """Scores ``(m, n_e)`` of every entity one step (``relation``, direction) from each of ``entities``
        ``(m,)``; an inverse step uses the learned inverse relation when there is one, as the model was trained."""
        e = self.entity[entities]  # (m, d)
        if forward:
            return self.tails(e, self.relation[relation].expand(len(entities), -1))
        if self.inverse is not None:
            return self.tails(e, self.inverse[relation].expand(len(entities), -1))
        return self.heads(e, self.relation[relation].expand(len(entities), -1))

    def to(self, device: torch.device | str) -> KGEScorer:
        self.entity, self.relation = self.entity.to(device), self.relation.to(device)
        if self.inverse is not None:
            self.inverse = self.inverse.to(device)
        self._flat = None
        return self


class ComplExScorer(KGEScorer):
    """``Re(<h, r, conj(t)>)``."""

    complex = True

    def tails(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        hr = h * r  # (b, d) complex: Re(<hr, conj t>) = hr.re . t.re + hr.im . t.im
        return torch.cat([hr.real, hr.imag], -1) @ self.flat.T  # (b, n_e)

    def heads(self, t: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        x = r * t.conj()  # (b, d): Re(<e, r, conj t>) = Re(sum e * x) = x.re . e.re - x.im . e.im
        return torch.cat([x.real, -x.imag], -1) @ self.flat.T


class DistMultScorer(KGEScorer):
    """``<h, r, t>``."""

    def tails(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return (h * r) @ self.flat.T

    def heads(self, t: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return (t * r) @ self.flat.T


def _complex_dist(a: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """``(x, d)`` complex x ``(n, 2d)`` real ``[re | im]`` -> ``(x, n)`` L2 distances."""
    return torch.cdist(torch.cat([a.real, a.imag], -1), flat)


class RotatEScorer(KGEScorer):
    """``-||h * r - t||_2`` with unit-modulus ``r`` (a predicted ``r`` is projected onto the unit circle)."""

    complex = True

    def __init__(self, entity: torch.Tensor, relation: torch.Tensor, *, p: float = 2.0, power_norm: bool = False,
                 **kwargs: Any) -> None:
        if float(p) != 2.0 or power_norm:
            raise ConfigError(f"kge: the QA scorer supports RotatE with the L2 norm only (p={p}, "
                              f"power_norm={power_norm})")
        super().__init__(entity, relation, **kwargs)

    @staticmethod
    def _unit(r: torch.Tensor) -> torch.Tensor:
        return r / r.abs().clamp(min=1e-9)

    def tails(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return -_complex_dist(h * self._unit(r), self.flat)

    def heads(self, t: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return -_complex_dist(t * self._unit(r).conj(), self.flat)  # |e r - t| = |e - t conj(r)|


class TransEScorer(KGEScorer):
    """``-||h + r - t||_p`` (``-||.||_p^p`` with ``power_norm``)."""

    def __init__(self, entity: torch.Tensor, relation: torch.Tensor, *, p: float = 1.0, power_norm: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(entity, relation, **kwargs)
        self.p, self.power = float(p), float(p) if power_norm else 1.0

    def tails(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(h + r, self.flat, p=self.p) ** self.power

    def heads(self, t: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(t - r, self.flat, p=self.p) ** self.power


SCORERS: dict[str, type[KGEScorer]] = {
    "complex": ComplExScorer,
    "distmult": DistMultScorer,
    "rotate": RotatEScorer,
    "transe": TransEScorer,
}


NORM_BASED = frozenset({"rotate", "transe"})


def make_scorer(model: str, entity: torch.Tensor, relation: torch.Tensor, **kwargs: Any) -> KGEScorer:
    """The scorer of PyKEEN model ``model`` (case-insensitive) over native-representation vectors."""
    key = _key(model)
    if key not in SCORERS:
        raise ConfigError(f"kge model {model!r} has no QA scorer; supported: {', '.join(SCORERS)}")
    return SCORERS[key](entity, relation, **kwargs)


def _key(model: str) -> str:
    return model.lower().replace("_", "").replace("-", "")


def from_concatenated(vectors: Any, complex_: bool) -> torch.Tensor:
    """A float ``(n, 2d)`` array of real parts then imaginary parts -> complex ``(n, d)`` (or as is)."""
    vectors = torch.as_tensor(vectors, dtype=torch.float32)
    if not complex_:
        return vectors
    half = vectors.shape[1] // 2
    return torch.complex(vectors[:, :half].contiguous(), vectors[:, half:].contiguous())


def scorer_from_embeddings(kge: Any) -> KGEScorer:
    """A scorer over a ``kg.embeddings.KGEmbeddings`` (one entity and one relation representation, as ComplEx,
    DistMult, RotatE and TransE have), with its learned inverse relations when it has them."""
    key = _key(kge.model_name)
    reps = kge.info["representations"]
    if key not in SCORERS or len(reps["entity"]) != 1 or len(reps["relation"]) != 1:
        raise ConfigError(f"qa: KGE model {kge.model_name!r} has no QA scorer; train the KGE with one of "
                          f"{', '.join(SCORERS)} ([kge] model in kgagent.toml)")
    cplx = SCORERS[key].complex
    inverse = None
    if reps.get("relation_inverse"):
        from safetensors.torch import load_file

        # the saved layout is documented in kg.embeddings: complex tensors as (..., 2) real/imaginary pairs
        raw = load_file(str(kge.path / "embeddings.safetensors"))[reps["relation_inverse"][0]["name"]]
        inverse = torch.view_as_complex(raw.contiguous()) if cplx else raw
    kwargs: dict[str, Any] = {}
    # only norm-based interactions (TransE, RotatE) need settings from PyKEEN's interaction object; skipping it
    # for the others keeps PyKEEN (~80 MB) out of a serving process
    if key in NORM_BASED and hasattr(kge.interaction, "p"):
        kwargs = {"p": float(kge.interaction.p), "power_norm": bool(getattr(kge.interaction, "power_norm", False))}
    return make_scorer(kge.model_name, from_concatenated(kge.entity_vectors, cplx),
                       from_concatenated(kge.relation_vectors, cplx), inverse=inverse, **kwargs)
