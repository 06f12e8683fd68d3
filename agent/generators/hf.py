"""A local transformers causal LM (optionally with a LoRA adapter) that streams tokens as they are generated.

With no model named, it is the bundled SmolLM2-135M-Instruct (``agent.generators.local_model``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kgagent.agent.generators.base import Generator, GeneratorError, ResponseRequest, cut_at_stops, register_generator
from kgagent.agent.generators.prompt import STOPS, SYSTEM, render, request_messages


def adapter_base(adapter: str | Path) -> str | None:
    """The base model a peft adapter folder was trained on (``adapter_config.json``), if recorded."""
    cfg = Path(adapter) / "adapter_config.json"
    if not cfg.is_file():
        return None
    return json.loads(cfg.read_text(encoding="utf-8")).get("base_model_name_or_path")


def load_causal_lm(model: str | None, adapter: str | None = None, device: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) from a local path or name, with ``adapter`` (a peft LoRA folder) applied."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if adapter is not None and not Path(adapter).is_dir():
        raise GeneratorError(f"hf generator: adapter folder {adapter} not found")
    model = model or (adapter_base(adapter) if adapter else None)
    if not model:
        from kgagent.agent.generators.local_model import default_model_path

        model = str(default_model_path())  # the bundled SmolLM2-135M-Instruct
    # the tokenizer is saved with the adapter by `train generator`; prefer it (it may add a pad token)
    tok_dir = adapter if adapter and (Path(adapter) / "tokenizer_config.json").is_file() else model
    try:
        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        lm = AutoModelForCausalLM.from_pretrained(model)
    except OSError as e:
        raise GeneratorError(f"hf generator: cannot load {model!r} ({str(e).splitlines()[0]})") from e
    if adapter:
        from peft import PeftModel

        lm = PeftModel.from_pretrained(lm, adapter)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    lm.to(device).eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return lm, tokenizer


@register_generator("hf")
class HFGenerator(Generator):
    """Generates with ``model.generate`` in a worker thread and yields text through a ``TextIteratorStreamer``."""

    streaming = True

    def __init__(self, model: str | None = None, adapter: str | None = None, max_new_tokens: int = 96,
                 temperature: float = 0.0, device: str | None = None, system: str = SYSTEM,
                 timeout: float = 120.0) -> None:
        if max_new_tokens < 1 or temperature < 0:
            raise GeneratorError("hf generator: max_new_tokens must be >= 1 and temperature >= 0")
        self.model, self.tokenizer = load_causal_lm(model, adapter, device)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.system = system
        self.timeout = timeout

    def prompt(self, request: ResponseRequest) -> str:
        return render(self.tokenizer, request_messages(request, system=self.system))

    def generate(self, request: ResponseRequest) -> str:
        return "".join(self.stream(request)).strip()

    def stream(self, request: ResponseRequest) -> Iterator[str]:
        yield from cut_at_stops(self._raw_stream(self.prompt(request)), STOPS)

    def _raw_stream(self, prompt: str) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.model.device)  # input_ids: (1, t)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True,
                                        timeout=self.timeout)
        sampling = {"do_sample": True, "temperature": self.temperature} if self.temperature > 0 else \
            {"do_sample": False}
        kwargs = dict(**inputs, streamer=streamer, max_new_tokens=self.max_new_tokens,
                      pad_token_id=self.tokenizer.pad_token_id, **sampling)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.model.generate(**kwargs)
            except BaseException as e:  # surfaced in the caller's thread below
                failure.append(e)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        for text in streamer:
            if text:
                yield text
        worker.join()
        if failure:
            raise GeneratorError(f"hf generator failed: {failure[0]}") from failure[0]
