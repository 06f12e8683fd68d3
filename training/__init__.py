"""The training layer: the KG-fused encoder, its heads (intents, QA) and the shared training loop.

Names load lazily (torch and transformers import on first use), so ``import kgagent.training`` stays fast.

>>> from kgagent.training import IntentModel  # doctest: +SKIP
>>> IntentModel.load("ws/models/intents").predict(["what's my balance?"])[0].intent  # doctest: +SKIP
'balance'
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS = {
    "EncoderConfig": "kgagent.training.fused",
    "FusedEncoder": "kgagent.training.fused",
    "Batches": "kgagent.training.trainer",
    "TrainConfig": "kgagent.training.trainer",
    "TrainResult": "kgagent.training.trainer",
    "seed_everything": "kgagent.training.trainer",
    "train_loop": "kgagent.training.trainer",
    "IntentConfig": "kgagent.training.intents",
    "IntentData": "kgagent.training.intents",
    "IntentModel": "kgagent.training.intents",
    "IntentPrediction": "kgagent.training.intents_oos",
    "evaluate_intents": "kgagent.training.intents",
    "load_intent_data": "kgagent.training.intents",
    "train_intents": "kgagent.training.intents",
    "Answer": "kgagent.training.qa",
    "QAConfig": "kgagent.training.qa",
    "QAMetrics": "kgagent.training.qa",
    "QAModel": "kgagent.training.qa",
    "QAResult": "kgagent.training.qa",
    "QATrainResult": "kgagent.training.qa",
    "Fallback": "kgagent.training.qa",
    "evaluate_qa": "kgagent.training.qa",
    "fit_qa": "kgagent.training.qa",
    "train_qa": "kgagent.training.qa",
    "QAExample": "kgagent.training.qa_data",
    "read_qa_file": "kgagent.training.qa_data",
    "label_paths": "kgagent.training.qa_paths",
    "SynthesisConfig": "kgagent.training.synthesize",
    "synthesize_questions": "kgagent.training.synthesize",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
