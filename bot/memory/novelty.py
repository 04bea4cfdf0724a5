"""Whether a recalled line tells the character anything the prompt does not already show.

Characters repeat themselves: a catchphrase, a refrain, the same stage business ("*She ties off a knot*"),
and a model echoes the lines around it. Recall by meaning loves such lines, since each copy resembles the
others and the current talk: on the tune scene of ``bench memory`` a prompt could recall ten lines of one
character that were all recombinations of four sentences the history window already held. Each costs tail
tokens (the part of the prompt a provider's prefix cache can never reuse) and pushes a fact out of its slot.

A line is redundant when every sentence of it worth the name (``MIN_WORDS`` words or more, ``MIN_HAN`` Han
characters in Chinese) already appears, normalised, in the history window or in a better-ranked recalled
line. One new sentence keeps it: a fact is nearly always a sentence nobody has said before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Sentence ends, and the edges of *action* spans, which read as sentences of their own.
_SPLIT = re.compile(r"[.!?;。！？；…\n]+|\*")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
MIN_WORDS = 3
MIN_HAN = 4


def _normal(sentence: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(sentence))


def _counts(sentence: str) -> bool:
    """A sentence long enough to carry something ("Aye." and "Hm." carry nothing)."""
    han = len(_HAN.findall(sentence))
    if han:
        return han >= MIN_HAN
    return len(sentence.split()) >= MIN_WORDS


@lru_cache(maxsize=65536)
def sentences(text: str) -> frozenset[str]:
    """The normalised sentences of a text that count (cached: window lines recur turn after turn)."""
    found = set()
    for part in _SPLIT.split(text):
        normal = _normal(part)
        if normal and _counts(normal if not _HAN.search(part) else part):
            found.add(normal)
    return frozenset(found)


class Shown:
    """The sentences a prompt already shows; ``adds`` decides a line and, when it is kept, records it."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._seen: set[str] = set()
        for text in texts:
            self._seen.update(_marks(text))

    def adds(self, text: str) -> bool:
        """True when the text has a sentence not shown yet (it is then shown from now on); a text with no
        sentence that counts is judged whole (a short fact, "Wexmoor.", is kept unless shown verbatim)."""
        marks = _marks(text)
        if not marks or marks <= self._seen:
            return False
        self._seen.update(marks)
        return True


def _marks(text: str) -> frozenset[str]:
    """What a text shows: its sentences that count, or, when none does, the whole text normalised."""
    own = sentences(text)
    if own:
        return own
    normal = _normal(text)
    return frozenset({normal}) if normal else frozenset()
