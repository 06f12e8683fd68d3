"""``QAConfig``: the QA model's settings (``[qa]`` of ``kgagent.toml``), and the fallback modes it chooses from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from kgagent.kg.config import check_ints, check_range
from kgagent.training.fused import EncoderConfig
from kgagent.training.trainer import TrainConfig


class Fallback(StrEnum):
    """What answers where the exact relation paths miss edges."""

    NONE = "none"  # exact graph paths only
    SOFT = "soft"  # soft traversal: path rules, then the KGE, predict a hop's missing edges
    SCORER = "scorer"  # the KGE-space answer scorer ranks every entity of the answer type
    BOTH = "both"  # soft traversal and the scorer

    @property
    def soft(self) -> bool:
        return self in (Fallback.SOFT, Fallback.BOTH)

    @property
    def scorer(self) -> bool:
        return self in (Fallback.SCORER, Fallback.BOTH)


FALLBACKS = tuple(Fallback)


def _qa_encoder() -> EncoderConfig:
    # LoRA and the fusion in the last 2 layers: the warm-up keeps the frozen layers' states, so a training step
    # runs a third of the encoder (the demo's encoder phase 46 -> 18 s; 223 of the four hand-written sets' 312
    # questions right, 227 with every layer trained; BENCHMARKS.md)
    return EncoderConfig(finetune="lora", fusion="tokens", max_length=48, train_layers=2)


def _qa_training() -> TrainConfig:
    # the path head with the encoder: one epoch, validated every 100 steps (early stopping)
    return TrainConfig(epochs=1, lr=1e-3, batch_size=32, eval_every=100, patience=2)


@dataclass
class QAConfig:
    """Settings of the QA model and its training; ``[qa]`` of ``kgagent.toml`` fills them.

    ``encoder`` (an ``EncoderConfig``: base model, LoRA, fusion, length) and ``train`` (a ``TrainConfig``: the
    path head trained with the encoder; its ``seed`` seeds every step) are sub-configs; in TOML their fields may
    be written flat in ``[qa]`` or in ``[qa.encoder]`` / ``[qa.train]`` (see ``kg.config.make_config``).

    >>> QAConfig().encoder.max_length, QAConfig().train.eval_every
    (48, 100)
    """

    encoder: EncoderConfig = field(default_factory=_qa_encoder, metadata={
        "help": "the encoder; fusion: how the topic's KGE vector enters it (see training.fused)"})
    train: TrainConfig = field(default_factory=_qa_training, metadata={
        "help": "the path head trained with the encoder (epochs 0: skip)"})
    placeholder: str | None = field(default=None, metadata={
        "help": "text that replaces the topic mention; None: the tokenizer's mask token"})
    max_hops: int = field(default=3, metadata={"help": "longest relation path considered (1-3)"})
    synthesize: int | None = field(default=None, metadata={
        "help": "questions generated from the graph for training; None: when the question files hold fewer than "
                "1000 questions, as many as the graph's distinct relation paths call for ([synthesis]), else "
                "enough for synthesized_share of the path head's sample"})
    synthesized_share: float = field(default=0.1, metadata={
        "help": "beside 1000 or more questions from files, the share of the path head's training sample given to "
                "synthesized questions, so wordings the files never use (a relation asked by its own name) are "
                "known too; 0: none"})
    authored_repeat: int = field(default=4, metadata={
        "help": "when synthesized questions are mixed in, each question from a file counts this many times in "
                "path training: they are few, and phrased the way users ask"})
    # path head training: first on frozen features (cheap), then with the encoder (LoRA) and fusion (``train``)
    head_warmup_epochs: int = field(default=15, metadata={
        "help": "epochs of the path head alone on frozen question features; 0: skip"})
    max_train_questions: int = field(default=6000, metadata={
        "help": "train the path head on a seeded sample of this many questions (questions from files are all "
                "kept when synthesized ones are mixed in); 0: all"})
    val_fraction: float = field(default=0.1, metadata={"help": "held-out share for early stopping and calibration"})
    max_val_questions: int = 600
    max_seconds: float | None = field(default=None, metadata={
        "help": "time budget of the whole fit: the encoder trains for what the later phases leave "
                "(training.qa.budget); None: no budget"})
    # answer scorer (EmbedKGQA-style) training on frozen question features
    answer_scorer: bool | None = field(default=None, metadata={
        "help": "train the KGE-space answer scorer; None: when the graph misses answers of the questions people "
                "wrote (training.qa.fit.graph_misses_answers), which is what it is for"})
    answer_hidden: int = 512
    answer_epochs: int = 8
    answer_lr: float = 2e-3
    answer_batch_size: int = 128
    max_answer_questions: int = field(default=10_000, metadata={
        "help": "train the scorer on a seeded sample of this many questions (encoding each costs as much as a "
                "path head's training question: 29,000 took 85 s of a MetaQA build); 0: all"})
    # inference
    fallback: Literal["auto", "none", "soft", "scorer", "both"] = field(default="auto", metadata={
        "help": "what answers when exact paths miss edges: KGE soft traversal, the scorer, both; auto: the best "
                "on the held-out split"})
    scorer_weight: float | None = field(default=None, metadata={
        "help": "weight of the scorer beside exact/soft path answers; None: tuned on the held-out split"})
    soft_top_k: int = field(default=3, metadata={"help": "predicted tails per entity lacking a hop's edges"})
    rules: bool = field(default=True, metadata={
        "help": "mine path rules from the graph (kg.rules) and let them infer a hop's missing edges before the KGE"})
    max_paths: int = field(default=3, metadata={"help": "relation paths executed per question (most likely first)"})
    top_answers: int = 10
    # phrasings never seen in training: a general sentence encoder's similarity to each path's questions
    path_similarity: float = field(default=0.5, metadata={
        "help": "weight of the similarity between the question and each path's training questions (a pretrained "
                "sentence encoder) beside the path head; 0: the head alone"})
    similarity_temperature: float = field(default=0.05, metadata={"help": "temperature of that similarity"})
    similarity_gate: float | None = field(default=None, metadata={
        "help": "skip the similarity (a second encoder pass) for questions whose top path the head gives at least "
                "this probability; 1: never skip; None: chosen at training (skipped above 0.99 only where held-out "
                "questions people wrote show it changes nothing, else never)"})
    similarity_encoder: str | None = field(default=None, metadata={
        "help": "the sentence encoder of the path similarity; None: the bundled all-MiniLM-L6-v2"})
    # 8, not 24: paths the sample holds fewer questions of are topped up by encoding more; on the demo graph 24
    # encoded 2,606 questions, 8 encode 1,265, and four graphs' answers stayed the same (BENCHMARKS.md)
    prototype_questions: int = field(default=8, metadata={
        "help": "training questions per path averaged into its prototype vector, at least (where it has them): "
                "those of the path sample, which the warm-up has encoded already, all count"})
    # what the graph and the question's words say before any model (training.path_prior)
    topic_prior: bool = field(default=True, metadata={
        "help": "rule out paths whose first step entities like the topic never have (a writer heads no "
                "directed_by edge)"})
    topic_min_share: float = field(default=0.05, metadata={
        "help": "a step fits the topic when at least this share of the entities having one of its steps have it"})
    answer_type_prior: float = field(default=0.01, metadata={
        "help": "factor on paths whose answers are not of the asked kind (who / when / where / which N); 1: off"})
    named_prior: float = field(default=2.0, metadata={
        "help": "factor per relation of a path that the question names by its words (stems of the relation's "
                "name, verb forms and lexicon phrasings); 1: off"})
    unnamed_prior: float = field(default=0.5, metadata={
        "help": "factor per relation the question names that a path lacks; 1: off"})
    first_prior: float = field(default=4.0, metadata={
        "help": "factor on paths that start with the relation the question names next to the topic's mention "
                "(the innermost relation of the question); 1: off"})
    last_prior: float = field(default=4.0, metadata={
        "help": "factor on paths that end with the relation the question names first after its question word "
                "(what is asked is said first; not after an auxiliary: 'what did ... write'); 1: off"})
    class_prior: float = field(default=4.0, metadata={
        "help": "factor on paths whose answers are of the class a 'which N' question asks for, by the graph's class "
                "names (rdf:type-style relations) or the relation's own noun; 1: off"})
    prior_model_weight: float | None = field(default=None, metadata={
        "help": "exponent on the model's path probabilities before the priors (abstain_ratio is scaled alike): "
                "below 1 the priors count for more; 1: the model's probabilities as they are; None: chosen at "
                "training: 0.5 for a model that saw too few questions people wrote to judge (a head trained on "
                "synthesized questions alone is overconfident), else the better of 1 and 0.5 on them"})
    compose_paths: float = field(default=0.5, metadata={
        "help": "paths the head never learned or gave little: a likely path with a relation the question names but "
                "the path lacks inserted (where the graph can walk it from the topic) gets this share of the "
                "path's probability, before the priors weigh both; 0: off"})
    # knowing when the graph has no answer
    walk_prior: bool = field(default=True, metadata={
        "help": "without a fallback, consider only relation paths the graph can walk from the topic"})
    abstain_ratio: float | None = field(default=None, metadata={
        "help": "when the most likely path cannot be walked from the topic, answer with a walkable one only if "
                "its probability is at least this share of the top one's, else say the graph lacks it; None: "
                "chosen on the held-out split"})

    def __post_init__(self) -> None:
        if self.fallback != "auto" and self.fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of auto, {', '.join(FALLBACKS)}; not {self.fallback!r}")
        if not isinstance(self.max_hops, int) or not 1 <= self.max_hops <= 3:
            raise ValueError(f"max_hops must be 1, 2 or 3, not {self.max_hops!r}")
        check_ints(self, "authored_repeat", "answer_epochs", "answer_batch_size", "answer_hidden", "soft_top_k",
                   "max_paths", "top_answers", "max_val_questions", "prototype_questions")
        check_ints(self, "max_train_questions", "max_answer_questions", "head_warmup_epochs", minimum=0)
        check_ints(self, "synthesize", minimum=0, optional=True)
        check_range(self, "val_fraction", high=0.5, low_open=True, high_open=True)
        check_range(self, "synthesized_share", high=0.5)
        check_range(self, "answer_lr", low_open=True)
        check_range(self, "max_seconds", low_open=True, optional=True)
        check_range(self, "scorer_weight", optional=True)
        check_range(self, "path_similarity", high=1.0)
        check_range(self, "similarity_temperature", low_open=True)
        check_range(self, "similarity_gate", high=1.0, optional=True)
        check_range(self, "abstain_ratio", high=1.0, optional=True)
        check_range(self, "compose_paths", high=1.0)
        check_range(self, "topic_min_share", high=1.0)
        check_range(self, "answer_type_prior", high=1.0)
        check_range(self, "named_prior", low=1.0)
        check_range(self, "unnamed_prior", high=1.0, low_open=True)
        check_range(self, "first_prior", low=1.0)
        check_range(self, "last_prior", low=1.0)
        check_range(self, "class_prior", low=1.0)
        check_range(self, "prior_model_weight", high=1.0, low_open=True, optional=True)
        if self.train.lr is None:
            raise ValueError("train.lr must be set for QA")

    @property
    def seed(self) -> int:
        """The seed of every step (data split, sampling, initialization): ``train.seed``."""
        return self.train.seed

    def fallbacks(self) -> tuple[Fallback, ...]:
        """The fallback modes to choose among on the held-out split."""
        return FALLBACKS if self.fallback == "auto" else (Fallback(self.fallback),)
