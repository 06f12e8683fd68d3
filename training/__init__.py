"""The training layer: the KG-fused encoder, its heads (intents, QA) and the shared training loop.

Names load lazily (torch and transformers import on first use), so ``import training`` stays fast.

>>> from training import IntentModel  # doctest: +SKIP
>>> IntentModel.load("ws/models/intents").predict(["what's my balance?"])[0].intent  # doctest: +SKIP
'balance'
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_EXPORTS = {
    "EncoderConfig": "training.fused",
    "FusedEncoder": "training.fused",
    "Batches": "training.trainer",
    "TrainConfig": "training.trainer",
    "TrainResult": "training.trainer",
    "seed_everything": "training.trainer",
    "train_loop": "training.trainer",
    "IntentConfig": "training.intents",
    "IntentData": "training.intents",
    "IntentModel": "training.intents",
    "IntentPrediction": "training.intents",
    "evaluate_intents": "training.intents",
    "load_intent_data": "training.intents",
    "train_intents": "training.intents",
    "Answer": "training.qa",
    "QAConfig": "training.qa",
    "QAMetrics": "training.qa",
    "QAModel": "training.qa",
    "QAResult": "training.qa",
    "evaluate_qa": "training.qa",
    "fit_qa": "training.qa",
    "train_qa": "training.qa",
    "QAExample": "training.qa_data",
    "read_qa_file": "training.qa_data",
    "label_paths": "training.qa_paths",
    "SynthesisConfig": "training.synthesize",
    "synthesize_questions": "training.synthesize",
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
