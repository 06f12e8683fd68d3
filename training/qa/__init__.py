"""Multi-hop question answering over the workspace KG.

A question goes through one fused encoder (the topic mention masked by a placeholder, the topic's KGE vector
fused in) with two heads:

- a relation-path head: which chain of up to three relations (with directions) the question asks for; the
  path is executed exactly on the graph (``KnowledgeGraph.follow``), giving answers with evidence paths;
- an answer scorer in the KGE space (EmbedKGQA-style): the question becomes a relation vector, scored with the
  KGE interaction from the topic against every entity.

Where the graph lacks an edge, a soft traversal asks path rules and the KGE for the missing links of each hop,
and the scorer ranks every entity of the right type; exact answers keep the top ranks (``ranking``). Confidence
is calibrated on a held-out split of the training questions (``fit``).

Modules: ``config`` (``QAConfig``, ``Fallback``), ``results``, ``model`` (``QAModel``), ``ranking``, ``fit``
(``fit_qa``), ``train`` (``train_qa``, the front door), ``evaluate`` (``evaluate_qa``).

>>> model = QAModel.load("ws/models/qa")  # doctest: +SKIP
>>> r = model.answer("who directed [Alien]")  # doctest: +SKIP
>>> r.answers[0].label, r.relation_path  # doctest: +SKIP
('Ridley Scott', ('directed_by',))
"""

from kgagent.training.qa.config import FALLBACKS, Fallback, QAConfig
from kgagent.training.qa.evaluate import evaluate_qa
from kgagent.training.qa.fit import fit_qa
from kgagent.training.qa.model import QAModel, fusion_vectors, load_scorer
from kgagent.training.qa.ranking import Encoded, Ranker
from kgagent.training.qa.results import Answer, QAMetrics, QAResult, bracketed, ece, is_hit
from kgagent.training.qa.train import QATrainResult, default_synthesis, train_qa

__all__ = [
    "FALLBACKS",
    "Answer",
    "Encoded",
    "Fallback",
    "QAConfig",
    "QAMetrics",
    "QAModel",
    "QAResult",
    "QATrainResult",
    "Ranker",
    "bracketed",
    "default_synthesis",
    "ece",
    "evaluate_qa",
    "fit_qa",
    "fusion_vectors",
    "is_hit",
    "load_scorer",
    "train_qa",
]
