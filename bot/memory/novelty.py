"""Whether a recalled line tells the character anything the prompt does not already show.

Characters repeat themselves: a catchphrase, a refrain, the same stage business ("*She ties off a knot*"),
and a model echoes the lines around it. Recall by meaning loves such lines, since each copy resembles the
others and the current talk: on the tune scene of ``bench memory`` a prompt could recall ten lines of one
character that were all recombinations of four sentences the history window already held. Each costs tail
tokens (the part of the prompt a provider's prefix cache can never reuse) and pushes a fact out of its slot.

A line is redundant when every sentence of it worth the name (``MIN_WORDS`` words or more, ``MIN_HAN`` Han
characters in Chinese) already appears, normalised, in the history window or in a better-ranked recalled line,
and every word of its short sentences ("Wexmoor.", "Aye.") appears somewhere there too. One new sentence, or a
short one with a new word, keeps it: a fact is nearly always something nobody has said before.
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


def _counts(part: str) -> bool:
    """A sentence long enough to stand for itself ("Aye." and "Hm." are judged by their words instead)."""
    han = len(_HAN.findall(part))
    if han:
        return han >= MIN_HAN
    return len(_WORD.findall(part)) >= MIN_WORDS


def _words(normal: str) -> set[str]:
    """Words of a normalised sentence; Han characters one by one (Chinese has no spaces)."""
    words = set()
    for word in normal.split():
        words.update(_HAN.findall(word) if _HAN.search(word) else (word,))
    return words


@lru_cache(maxsize=65536)
def marks(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """What a text shows: its normalised sentences that count, and the words of the rest (cached: window
    lines recur turn after turn)."""
    found: set[str] = set()
    words: set[str] = set()
    for part in _SPLIT.split(text):
        normal = _normal(part)
        if not normal:
            continue
        if _counts(part):
            found.add(normal)
        else:
            words.update(_words(normal))
    return frozenset(found), frozenset(words)


def sentences(text: str) -> frozenset[str]:
    """The normalised sentences of a text that count."""
    return marks(text)[0]


class Shown:
    """What a prompt already shows; ``adds`` decides a line and, when it is kept, records it.

    The window's sentences are one set union (cached per line); the words of short sentences are looked up in
    the window's lower-cased text only when a candidate has such words: a word set of a full window cost
    about 2.7 ms per reply at 400 lines, which made late replies dearer than early ones."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._sentences: set[str] = set()
        self._texts: list[str] = []
        for text in texts:
            self._sentences.update(marks(text)[0])
            self._texts.append(text)
        self._joined: str | None = None

    def _has_word(self, word: str) -> bool:
        if self._joined is None:
            self._joined = "\n".join(self._texts).lower()
        if _HAN.fullmatch(word):
            return word in self._joined
        return re.search(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", self._joined) is not None

    def adds(self, text: str) -> bool:
        """True when the text shows something not shown yet (it is then shown from now on)."""
        found, short = marks(text)
        if not found and not short:
            return False
        if found <= self._sentences and all(self._has_word(w) for w in short):
            return False
        self._sentences.update(found)
        self._texts.append(text)
        self._joined = None
        return True
