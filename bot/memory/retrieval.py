"""Choosing which remembered facts reach a prompt: relevance to the recent lines, importance and recency.

Relevance is a BM25-like sum of inverse document frequencies of the content words a fact shares
with the query (light English stemming; CJK as character bigrams), so a rare word like "floorboard"
counts for more than "said". The three parts are normalised and weighted like Generative Agents'
retrieval (recency decays 0.99 per turn). Callers pass only facts the speaking NPC knows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}|[\u4e00-\u9fff]+")
STOP = frozenset(
    "the and you your are was were for with that this what where when have has had not but they them their "
    "there here from into about just like will would could should can did does said say says its his her him "
    "she he our out who how why all any one two also been being very much more some than then too off over "
    "tell told know think remember".split()
)


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "edly", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=65536)
def terms(text: str) -> frozenset[str]:
    """Content terms of a text: stemmed English words without stop words; CJK character bigrams."""
    found: set[str] = set()
    for token in WORD.findall(text):
        if "\u4e00" <= token[0] <= "\u9fff":
            found.update(token[i : i + 2] for i in range(max(1, len(token) - 1)))
            continue
        lowered = token.lower().strip("'-")
        if lowered not in STOP and len(lowered) >= 3:
            found.add(_stem(lowered))
    return frozenset(found)


BACKGROUND = 20


@dataclass(frozen=True, slots=True)
class Memory:
    """A fact as retrieval sees it."""

    id: int
    text: str
    importance: int
    turn_seq: int
    kind: str = "fact"


@dataclass(frozen=True, slots=True)
class Scored:
    memory: Memory
    score: float
    relevance: float


def rank(
    memories: Sequence[Memory],
    query: str,
    now_seq: int,
    *,
    weights: tuple[float, float, float] = (0.6, 0.25, 0.15),
    min_match: float = 0.0,
) -> list[Scored]:
    """Memories whose shared terms weigh at least ``min_match`` (summed IDF), best first."""
    query_terms = terms(query)
    if not query_terms or not memories:
        return []
    indexed = [(m, terms(m.text)) for m in memories]
    # Smoothed as if there were at least BACKGROUND documents, so that a word shared with one of only
    # three facts does not look as rare as one shared with one of three hundred.
    total = max(len(indexed), BACKGROUND)
    df: dict[str, int] = {}
    for _, mt in indexed:
        for t in mt & query_terms:
            df[t] = df.get(t, 0) + 1
    raw = []
    for memory, mt in indexed:
        shared = mt & query_terms
        if not shared:
            continue
        weight = sum(math.log(1 + total / df[t]) for t in shared)
        if weight >= min_match:
            raw.append((memory, weight))
    if not raw:
        return []
    top = max(r for _, r in raw)
    w_rel, w_imp, w_rec = weights
    scored = [
        Scored(m, w_rel * (r / top) + w_imp * (m.importance / 10) + w_rec * (0.99 ** max(0, now_seq - m.turn_seq)), r / top)
        for m, r in raw
    ]
    scored.sort(key=lambda s: (-s.score, -s.memory.id))
    return scored


def pinned(memories: Sequence[Memory], k: int) -> list[Memory]:
    """The most important memories regardless of the line (ties: older first, so the set is stable)."""
    return sorted(memories, key=lambda m: (-m.importance, m.id))[:k]
