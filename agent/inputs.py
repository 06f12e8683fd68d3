"""What a user types, made safe to put into the graph: every entry point (CLI, terminal chat, UI, HTTP) passes
its message through :func:`clean_message` before it becomes state, a checkpoint or a tokenizer's input.

>>> clean_message("who directed \\x1b[31mAlien\\udcff?")
'who directed [31mAlien\\ufffd?'
"""

from __future__ import annotations

import re

MAX_MESSAGE = 4000  # characters read of one message: longer text is cut (a question is never this long)

# Lone surrogates (undecodable bytes of a terminal or argv, or JSON "\ud800") cannot be encoded, so a tokenizer,
# a checkpoint or a JSON reply would fail on them: each becomes U+FFFD. Control characters other than newline and
# tab (NUL, the ESC of terminal escape sequences, C1) are dropped.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_message(text: str, *, max_chars: int = MAX_MESSAGE) -> str:
    """``text`` without lone surrogates or control characters, cut to ``max_chars``, stripped."""
    text = _SURROGATE.sub("\ufffd", str(text))
    text = _CONTROL.sub("", text)
    return text[:max_chars].strip()
