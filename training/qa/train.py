"""``train_qa``: the QA step's front door: a KG, questions and a KGE in, a trained model (saved to ``out_dir``)
and its metrics and loss curves out. Reading ``kgagent.toml`` and the manifest is the build layer's business
(``agent.build``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgagent.kg.errors import InputError
from kgagent.kg.graph import KnowledgeGraph
from kgagent.training.qa.config import QAConfig
from kgagent.training.qa.fit import fit_qa
from kgagent.training.qa.model import QAModel, load_scorer
from kgagent.training.qa_data import QAExample
from kgagent.training.trainer import StepCallback

if TYPE_CHECKING:
    from kgagent.kg.rules import RuleConfig
    from kgagent.training.synthesize import SynthesisConfig

# training phases of fit_qa whose metrics carry a loss curve
PHASES = ("path_head_warmup", "path_head", "answer_scorer")


@dataclass
class QATrainResult:
    """The trained model and its training metrics (validation scores, the fallback chosen, each phase's
    ``losses`` and validation ``history``)."""

    model: QAModel
    metrics: dict[str, Any]

    @property
    def losses(self) -> dict[str, list[float]]:
        """The training loss of every step, per phase that ran."""
        return {p: list(self.metrics[p]["losses"]) for p in PHASES if self.metrics.get(p)}

    def as_dict(self) -> dict[str, Any]:
        return dict(self.metrics)


AUTO = -1  # synthesize as many questions as the graph's distinct relation paths call for


def default_synthesis(n_questions: int, config: QAConfig | None = None) -> int:
    """How many questions to synthesize when the config leaves it open: beside fewer than 1000 questions, as
    many as the graph's paths call for (:data:`AUTO`); else enough to make ``synthesized_share`` of the path
    head's training sample (``max_train_questions``)."""
    config = config or QAConfig()
    if n_questions < 1000:
        return AUTO
    sample = min(n_questions, config.max_train_questions or n_questions)
    share = config.synthesized_share
    return math.ceil(sample * share / (1.0 - share)) if share > 0 else 0


def train_qa(kg: KnowledgeGraph, examples: Sequence[QAExample], *, kge: Any, config: QAConfig | None = None,
             out_dir: str | Path | None = None, synthesize: int | None = None,
             synthesis: SynthesisConfig | None = None, lexicon: dict[str, list[str]] | None = None,
             rules: RuleConfig | None = None,
             cache_dir: str | Path | None = None, progress: bool = True,
             on_step: StepCallback | None = None) -> QATrainResult:
    """Train the QA model of ``kg`` on ``examples`` plus ``synthesize`` questions generated from the graph (a KG
    without questions trains on synthesized ones only); saves it to ``out_dir`` when given.

    ``kge`` is a ``kg.embeddings.KGEmbeddings`` or its folder. ``synthesize=None`` takes ``config.synthesize``,
    else :func:`default_synthesis`; :data:`AUTO` scales with the graph. ``lexicon``: a few phrasings per
    relation that synthesized questions use beside the relation's own name (``kg.schema``); ``rules``: how path
    rules are mined (``[rules]``; with ``config.rules``). Path labels are
    cached in ``cache_dir``. ``on_step(phase, step, loss)`` sees every training step.
    """
    import time
    from dataclasses import replace

    from kgagent.kg.schema import induce_schema
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    t0 = time.perf_counter()
    config = config or QAConfig()
    examples = list(examples)
    if synthesize is None:
        synthesize = config.synthesize if config.synthesize is not None else default_synthesis(len(examples), config)
    if not examples and synthesize == 0:
        raise InputError("give question files (--data) and/or a number of questions to synthesize (--synthesize)",
                         field="data")
    unknown = sorted(set(lexicon or {}) - set(kg.relations))
    if unknown:
        raise InputError(f"no relation named {unknown[0]!r} in the graph", field="lexicon")
    synth = synthesize_questions(kg, None if synthesize == AUTO else synthesize, config=synthesis or SynthesisConfig(),
                                 schema=induce_schema(kg, lexicon=lexicon), progress=progress) if synthesize else []
    scorer = load_scorer(kge, kg)
    if config.max_seconds is not None:  # the budget covers synthesis too
        config = replace(config, max_seconds=max(1.0, config.max_seconds - (time.perf_counter() - t0)))
    model, metrics = fit_qa(kg, [*examples, *synth], scorer=scorer, config=config, cache_dir=cache_dir, rules=rules,
                            progress=progress, on_step=on_step)
    metrics["synthesized"] = len(synth)
    if out_dir is not None:
        model.save(out_dir)
    return QATrainResult(model, metrics)
