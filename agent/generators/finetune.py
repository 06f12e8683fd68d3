"""``kgagent train generator``: LoRA fine-tuning of a causal LM on grounded dialogues.

A dialogue file is JSON lines, one turn each::

    {"question": "who directed Alien?", "evidence": [["Alien", "directed_by", "Ridley Scott"]],
     "answer": "Alien was directed by Ridley Scott.", "history": [["user", "hi"], ["assistant", "Hello!"]]}

``evidence`` items are ``[head, relation, tail]`` or ``"head | relation | tail"``; ``history`` and ``answers``
(the answer entities' names) are optional. The prompt is the one the ``hf`` generator builds at run time
(``agent.generators.prompt``), so the adapter learns exactly the format it will see; the loss covers only the
answer tokens. The adapter, the tokenizer and ``generator_config.json`` are written to ``out_dir`` atomically.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kgagent.agent.generators.base import AnswerView, Fact, GeneratorError, ResponseRequest
from kgagent.agent.generators.prompt import render, request_messages
from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import InputError
from kgagent.kg.io import json_lines


@dataclass
class GeneratorTrainConfig:
    """How ``train generator`` fine-tunes; read from ``[generator]`` of ``WS/kgagent.toml``."""

    base_model: str | None = field(default=None, metadata={
        "help": "Local causal-LM folder or hub name; None: the bundled SmolLM2-135M-Instruct."})
    epochs: int = 3
    lr: float = 2e-4
    batch_size: int = 8
    max_length: int = field(default=384, metadata={"help": "Prompt + answer tokens; prompts are cut on the left."})
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] | None = field(
        default=None, metadata={"help": "Modules given LoRA adapters; None: peft's default for the architecture."})
    val_fraction: float = field(default=0.1, metadata={"help": "Dialogues held out to pick the best epoch."})
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        check_ints(self, "epochs", "batch_size", "max_length", "lora_r", "lora_alpha")
        check_range(self, "lr", low_open=True)
        check_range(self, "val_fraction", "lora_dropout", high=1.0, high_open=True)


@dataclass
class Dialogue:
    request: ResponseRequest
    answer: str


def _fact(item: Any, path: Path, line: int) -> Fact:
    parts = [p.strip() for p in item.split("|")] if isinstance(item, str) else list(item)
    if len(parts) != 3 or not all(isinstance(p, str) for p in parts):
        raise InputError(f"evidence item {item!r} is not [head, relation, tail]", path=path, line=line,
                         field="evidence")
    return Fact(*parts)


def read_dialogues(path: str | Path) -> list[Dialogue]:
    """Grounded dialogue turns of a JSON-lines file; a bad line raises ``InputError`` naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError("dialogue file not found", path=path)
    out: list[Dialogue] = []
    for n, row in json_lines(path):
        if not isinstance(row, dict):
            raise InputError("expected a JSON object", path=path, line=n)
        for key in ("question", "answer"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise InputError(f"missing or empty {key!r}", path=path, line=n, field=key)
        evidence = [_fact(x, path, n) for x in row.get("evidence") or []]
        history = row.get("history") or []
        if not all(isinstance(h, list | tuple) and len(h) == 2 and h[0] in ("user", "assistant")
                   for h in history):
            raise InputError("history must be [[\"user\"|\"assistant\", text], ...]", path=path, line=n,
                             field="history")
        answers = [AnswerView(str(a), 1.0) for a in row.get("answers") or []]
        req = ResponseRequest(question=row["question"].strip(), answers=answers, evidence=evidence,
                              history=[(r, str(t)) for r, t in history], confidence=1.0 if answers else 0.0)
        out.append(Dialogue(req, row["answer"].strip()))
    if not out:
        raise InputError("no dialogues in the file", path=path)
    return out


def encode_dialogue(tokenizer: Any, dialogue: Dialogue, max_length: int) -> tuple[list[int], list[int]]:
    """(input ids, labels): the prompt's labels are -100 so only the answer is learned."""
    prompt = tokenizer(render(tokenizer, request_messages(dialogue.request)), add_special_tokens=False)["input_ids"]
    answer = tokenizer(" " + dialogue.answer, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        answer = [*answer, tokenizer.eos_token_id]
    answer = answer[: max_length // 2]
    prompt = prompt[-(max_length - len(answer)):]  # keep the end of the prompt: the question
    return prompt + answer, [-100] * len(prompt) + answer


def reply_log_likelihood(model: Any, tokenizer: Any, dialogues: list[Dialogue], max_length: int = 384) -> float:
    """Mean log-likelihood per token of the dialogues' replies given their prompts (higher: more fluent in the
    replies' own words); a fluency check before and after fine-tuning."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for d in dialogues:
            ids, labels = encode_dialogue(tokenizer, d, max_length)
            x = torch.tensor([ids], device=model.device)  # (1, t)
            y = torch.tensor([labels], device=model.device)  # (1, t); -100 on the prompt
            logp = model(input_ids=x).logits[:, :-1].float().log_softmax(-1)  # (1, t-1, vocab)
            target = y[:, 1:]
            mask = target != -100
            picked = logp.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (1, t-1)
            total += float(picked[mask].sum())
            count += int(mask.sum())
    return total / max(count, 1)


def train_generator(data: str | Path, out_dir: str | Path, config: GeneratorTrainConfig,
                    *, progress: bool = True) -> dict[str, Any]:
    """Fine-tune ``config.base_model`` with LoRA on the dialogues in ``data``; save the adapter in ``out_dir``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kgagent.kg.io import atomic_dir, atomic_write_json
    from kgagent.training.trainer import Batches, TrainConfig, seed_everything, train_loop

    if not config.base_model:
        from kgagent.agent.generators.local_model import default_model_path

        config.base_model = str(default_model_path())  # the bundled SmolLM2-135M-Instruct
    dialogues = read_dialogues(data)
    seed_everything(config.seed)
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.base_model)
        model = AutoModelForCausalLM.from_pretrained(config.base_model)
    except OSError as e:
        raise GeneratorError(f"train generator: cannot load {config.base_model!r} "
                             f"({str(e).splitlines()[0]})") from e
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    lora = LoraConfig(task_type="CAUSAL_LM", r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=config.target_modules)
    model = get_peft_model(model, lora)

    encoded = [encode_dialogue(tokenizer, d, config.max_length) for d in dialogues]
    order = torch.randperm(len(encoded), generator=torch.Generator().manual_seed(config.seed)).tolist()
    n_val = int(len(encoded) * config.val_fraction) if len(encoded) >= 10 else 0
    val = [encoded[i] for i in order[:n_val]]
    train = [encoded[i] for i in order[n_val:]]

    def collate(rows: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)  # (b, t)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)  # (b, t)
        mask = torch.zeros((len(rows), width), dtype=torch.long)  # (b, t)
        for i, (x, y) in enumerate(rows):
            ids[i, : len(x)] = torch.tensor(x)
            labels[i, : len(y)] = torch.tensor(y)
            mask[i, : len(x)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    def val_loss(m: Any) -> float:
        """Mean answer-token loss on the held-out dialogues (returned negated: higher is better)."""
        total, count = 0.0, 0
        for s in range(0, len(val), config.batch_size):
            batch = collate(val[s: s + config.batch_size])
            batch = {k: v.to(m.device) for k, v in batch.items()}
            total += float(m(**batch).loss) * len(batch["input_ids"])
            count += len(batch["input_ids"])
        return -total / max(count, 1)

    batches = Batches(len(train), config.batch_size, lambda idx: collate([train[i] for i in idx]), seed=config.seed,
                      length_of=lambda i: len(train[i][0]))
    tc = TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size, seed=config.seed,
                     device=config.device, patience=0)
    result = train_loop(model, batches, val_loss if val else None, tc, desc="generator", progress=progress)
    metrics = {"dialogues": len(dialogues), "train": len(train), "val": len(val), **result.as_dict()}
    if val:
        metrics["val_loss"] = round(-result.best_score, 4)
        metrics["val_perplexity"] = round(math.exp(min(-result.best_score, 50.0)), 3)

    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / "generator_config.json", {"config": asdict(config), "metrics": metrics})
    return metrics
