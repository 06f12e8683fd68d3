"""Surface-form changes of a mention inside its text: a typo, a dropped word, lower case, a possessive.

Each takes ``(text, start, end, rng)`` with ``text[start:end]`` the mention and returns the changed
``(text, start, end)``, or None where it does not apply (a one-word name has no word to drop). The linking
evaluation applies them to gold mentions; the mention tagger's training applies them to synthesized questions.

>>> import random
>>> drop_word("who directed Ridley Scott films", 13, 25, random.Random(1))
('who directed Scott films', 13, 18)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

Edit = tuple[str, int, int]  # (text, mention start, mention end)
Perturbation = Callable[[str, int, int, random.Random], Edit | None]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def misspell(text: str, start: int, end: int, rng: random.Random) -> Edit | None:
    """One random edit (delete, insert, substitute or transpose a letter/digit) inside the mention."""
    positions = [i for i in range(start, end) if text[i].isalnum()]
    if not positions:
        return None
    i = rng.choice(positions)
    letter = rng.choice(_LETTERS)
    op = rng.choice(("delete", "insert", "substitute", "transpose"))
    if op == "transpose" and i + 1 < end and text[i + 1].isalnum() and text[i + 1] != text[i]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :], start, end
    if op == "delete" and len(positions) > 1:
        return text[:i] + text[i + 1 :], start, end - 1
    if op == "insert":
        return text[:i] + letter + text[i:], start, end + 1
    sub = letter if letter != text[i].lower() else ("a" if letter != "a" else "b")
    return text[:i] + sub + text[i + 1 :], start, end


def drop_word(text: str, start: int, end: int, rng: random.Random) -> Edit | None:
    """A multi-word mention less one of its words (with the space beside it): "Ridley Scott" -> "Scott"."""
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    if len(words) < 2:
        return None
    k = rng.randrange(len(words))
    cut = (words[k][0], words[k + 1][0]) if k + 1 < len(words) else (words[k - 1][1], words[k][1])
    n = cut[1] - cut[0]
    return text[: cut[0]] + text[cut[1] :], start, end - n


def lower(text: str, start: int, end: int, rng: random.Random | None = None) -> Edit | None:
    """The mention in lower case."""
    return text[:start] + text[start:end].lower() + text[end:], start, end


def possessive(text: str, start: int, end: int, rng: random.Random | None = None) -> Edit | None:
    """ "'s" after the mention (the span stays the name): "Alien" -> "Alien's"."""
    if text[end : end + 1] in ("'", "’") or text[start:end].endswith(("s", "'")):
        return None
    return text[:end] + "'s" + text[end:], start, end


def lower_and_drop(text: str, start: int, end: int, rng: random.Random) -> Edit | None:
    """Lower case and one word dropped: how people type a long name they half remember."""
    dropped = drop_word(text, start, end, rng)
    return None if dropped is None else lower(*dropped)


PERTURBATIONS: dict[str, Perturbation] = {
    "typo": misspell,
    "partial": drop_word,
    "lower": lower,
    "possessive": possessive,
    "lower_partial": lower_and_drop,
}
