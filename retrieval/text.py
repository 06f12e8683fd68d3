"""Text normalization for entity linking and its evaluation: case-, accent- and punctuation-insensitive."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# A word: letters/digits, with inner apostrophes ("Schindler's"); other punctuation separates words.
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SYMBOLS = re.compile(r"[^\w\s]")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words, and words that questions about any KG are made of. A span made only of these is a weak
# mention ("what", "the film", "her"), though it can still be linked when nothing better is in the text.
FUNCTION_WORDS = _wordset("""
a about above after again against all also am an and any are as at be been before being below
between both but by can could did do does doing down during each either else ever every few for from
further had has have having he her here hers herself him himself his how i if in into is it its
itself just less me more most my myself neither no nor not now of off on once only or other our ours
out over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up upon us very was we were what whatever when
where whether which while who whom whose why will with within without would you your yours yourself
""")
QUESTION_WORDS = _wordset("""
act acted acting acts actor actors actress actresses appear appeared appearing appears author
authors cast character characters create created creator creators date dates describe described
direct directed directing director directors film films genre genres good kind kinds know language
languages list main make made movie movies name names people person play played plays popular
primary produce produced producer release released releases screenplay screenwriter script scripts
series share shared shares show shows similar spoken star starred starring stars story tell title
titles type types work works write writer writers writing written wrote year years famous fall falls
known tag tags topic topics rating ratings rated vote votes
""")


@lru_cache(maxsize=200_000)
def normalize_token(token: str) -> str:
    """Casefold, strip accents and apostrophes: ``"Schindler’s"`` -> ``"schindlers"``, ``"Zoë"`` -> ``"zoe"``.
    """
    t = unicodedata.normalize("NFKD", token)
    t = "".join(c for c in t if not unicodedata.combining(c))
    return t.casefold().replace("'", "").replace("’", "")


@dataclass(frozen=True)
class Token:
    """A word of a text: character span, original form and normalized form."""

    start: int
    end: int
    raw: str
    norm: str

    @property
    def capitalized(self) -> bool:
        """Starts with an upper-case letter or a digit (how names and years look in running text)."""
        return self.raw[:1].isupper() or self.raw[:1].isdigit()


def tokenize(text: str, symbols: frozenset[str] = frozenset()) -> list[Token]:
    """Words of ``text`` with their spans; punctuation separates words and is dropped, except ``symbols``
    (kept as one-character tokens, for names made only of punctuation such as ``"$"``)."""
    out = [Token(m.start(), m.end(), m.group(), normalize_token(m.group())) for m in _WORD.finditer(text)]
    if symbols:
        extra = [
            Token(m.start(), m.end(), m.group(), m.group())
            for m in _SYMBOLS.finditer(text)
            if m.group() in symbols
        ]
        if extra:
            out = sorted(out + extra, key=lambda t: t.start)
    return out


def name_key(name: str) -> tuple[str, ...]:
    """The normalized token tuple a name is matched by; a name of punctuation only keeps its symbols."""
    toks = tuple(normalize_token(m.group()) for m in _WORD.finditer(name))  # tokenize() without Token objects
    return toks or tuple(c for c in name if not c.isspace())


def normalize(text: str) -> str:
    """``"Peter Franzén!"`` -> ``"peter franzen"``: the form in which names are compared."""
    return " ".join(name_key(text))
