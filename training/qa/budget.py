"""How a QA fit spends a time budget (``QAConfig.max_seconds``): most of a fit is encoding questions, so a
budget is split by counting encodings at the pace of a first small batch.

Every phase but the encoder's training encodes a known number of questions once or a few times: the warm-up its
path sample and the validation questions, the answer scorer its questions, the path prototypes up to
``prototype_questions`` per path, the held-out choices the validation questions a few times. Each may take at most
its share of the time (:data:`SHARES`); one that would take more gets fewer questions. The encoder trains for what
is left (a step costs about three encodings per question, forward and backward, when every layer trains; less
with ``train_layers``: ``FusedEncoder.step_encodings``). When every phase, the encoder's
``epochs`` included, fits in the time as asked, nothing is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

# the most of the time left that each phase may take
SHARES = {"warm-up": 0.2, "scorer": 0.15, "prototypes": 0.1, "held-out": 0.1}
WARMUP_TRAINING = 0.05  # the warm-up's own training (a small head on frozen features)
SELECTION_PASSES = 6  # encodings of each validation question: the warm-up's, the held-out choices, calibration
MIN_STEPS = 20  # fewer encoder steps than this are not worth taking: the warmed-up head is kept as it is


@dataclass(frozen=True)
class QAPlan:
    """What a budget leaves each phase: encoder training seconds (None: no budget) and question counts."""

    encoder_seconds: float | None
    sample: int  # path-training questions
    val_questions: int
    scorer_questions: int  # 0: all
    prototype_questions: int  # per path
    skip_encoder: bool = False


def plan_fit(left: float | None, per_question: float, *, sample: int, val_questions: int, scorer_questions: int,
             prototype_rows: int, prototype_questions: int, batch_size: int, epochs: int = 1,
             max_scorer_questions: int = 0, step_encodings: float = 3.0) -> QAPlan:
    """Split ``left`` seconds among the phases of a fit, ``per_question`` seconds an encoding; counts are what
    the settings ask (``prototype_rows``: prototype questions over all paths at ``prototype_questions`` each);
    a training step costs ``step_encodings`` encodings per question.

    >>> kw = dict(sample=6000, val_questions=600, scorer_questions=18000, prototype_rows=12000,
    ...           prototype_questions=24, batch_size=32)
    >>> plan_fit(None, 0.005, **kw).sample
    6000
    >>> plan_fit(1000.0, 0.005, **kw).scorer_questions  # all of it fits: nothing is cut
    0
    >>> p = plan_fit(300.0, 0.005, **kw)
    >>> p.sample, p.val_questions, p.scorer_questions, p.prototype_questions, round(p.encoder_seconds)
    (6000, 600, 9000, 12, 162)
    """
    wanted_scorer = min(scorer_questions, max_scorer_questions) if max_scorer_questions else scorer_questions
    if left is None:
        return QAPlan(None, sample, val_questions, max_scorer_questions, prototype_questions)
    encodings = sample + SELECTION_PASSES * val_questions + wanted_scorer + prototype_rows
    if per_question * (encodings + step_encodings * epochs * sample) <= left * (1 - WARMUP_TRAINING):
        return QAPlan(left * (1 - WARMUP_TRAINING) - per_question * encodings, sample, val_questions,
                      max_scorer_questions, prototype_questions)

    def fitting(n: int, passes: int, phase: str) -> int:
        return min(n, max(1, int(SHARES[phase] * left / (per_question * passes))))

    n_val = fitting(val_questions, SELECTION_PASSES, "held-out")
    n_sample = fitting(sample, 1, "warm-up")
    n_scorer = fitting(wanted_scorer, 1, "scorer")
    rows = fitting(prototype_rows, 1, "prototypes")
    per_path = prototype_questions if rows >= prototype_rows else max(1, prototype_questions * rows // prototype_rows)
    encodings = n_sample + SELECTION_PASSES * n_val + n_scorer + rows
    encoder = left * (1 - WARMUP_TRAINING) - per_question * encodings
    skip = encoder < MIN_STEPS * step_encodings * per_question * batch_size
    return QAPlan(max(encoder, 0.0), n_sample, n_val, 0 if n_scorer == scorer_questions else n_scorer, per_path,
                  skip_encoder=skip)
