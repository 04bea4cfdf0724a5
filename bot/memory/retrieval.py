"""Choosing what a character recalls: lexical (BM25) and dense (embedding) rankings fused by reciprocal rank.

Pure: the rankings come from the database and the vector set; this module only combines them.
Reciprocal-rank fusion (Cormack et al., 2009) needs no score calibration between BM25 and cosine
similarity, which have nothing in common but their order. Two design choices measured on the tune
scene of ``bench memory``:
- lines said by the speaker of the current line count more (``same_speaker``): a player asking
  "what does my uncle do?" is asking about something *they* said;
- recency only breaks ties: a line from turn 3 and one from turn 900 with the same fused score are
  ordered newest first, but age never lowers a score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RRF_K = 60


@dataclass(frozen=True, slots=True)
class Recalled:
    """A remembered line or note chosen for a prompt, with how it was found."""

    item_id: int
    turn_seq: int
    speaker: str
    text: str
    kind: str
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None

    def render(self) -> str:
        """How it reads in the prompt: who said it, when."""
        if self.kind == "note":
            return self.text
        return f"(turn {self.turn_seq}) {self.speaker}: {self.text}"


@dataclass(frozen=True, slots=True)
class FusionWeights:
    lexical: float = 1.0
    dense: float = 1.0
    same_speaker: float = 0.3
    note: float = 0.2


def fuse(
    lexical: Sequence[int],
    dense: Sequence[int],
    *,
    speakers: Mapping[int, str],
    query_speaker: str | None,
    weights: FusionWeights = FusionWeights(),
    k: int = RRF_K,
) -> list[tuple[int, float, int | None, int | None]]:
    """(item id, fused score, lexical rank, dense rank), best first; ranks count from 1.

    ``speakers`` maps item ids to who said them (notes map to ""); ties go to the newer item.
    """
    lex_rank = {item: r for r, item in enumerate(lexical, start=1)}
    den_rank = {item: r for r, item in enumerate(dense, start=1)}
    fused = []
    for item in {*lex_rank, *den_rank}:
        score = 0.0
        if item in lex_rank:
            score += weights.lexical / (k + lex_rank[item])
        if item in den_rank:
            score += weights.dense / (k + den_rank[item])
        if query_speaker and speakers.get(item) == query_speaker:
            score *= 1 + weights.same_speaker
        if item < 0:
            score *= 1 + weights.note
        fused.append((item, score, lex_rank.get(item), den_rank.get(item)))
    fused.sort(key=lambda f: (-f[1], -abs(f[0])))
    return fused


class VectorSet:
    """The embedded lines and notes one character knows, as a matrix, for a bounded dense search.

    Grows by appending what the embedder wrote since the last look; keeps at most ``capacity`` rows
    (the newest lines; the rest stay reachable by words), so a search costs the same at turn 10,000
    as at turn 1,000.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.ids = np.zeros(0, dtype=np.int64)
        self.matrix: np.ndarray | None = None
        self.newest_line = 0
        self.newest_note = 0

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def add(self, ids: np.ndarray, matrix: np.ndarray) -> None:
        if ids.shape[0] == 0:
            return
        if self.matrix is None or self.matrix.shape[1] != matrix.shape[1]:
            self.ids, self.matrix = ids.copy(), matrix.astype(np.float32, copy=True)
        else:
            keep = ~np.isin(self.ids, ids)
            self.ids = np.concatenate([self.ids[keep], ids])
            self.matrix = np.concatenate([self.matrix[keep], matrix.astype(np.float32, copy=False)])
        lines = ids[ids > 0]
        notes = ids[ids < 0]
        if lines.size:
            self.newest_line = max(self.newest_line, int(lines.max()))
        if notes.size:
            self.newest_note = max(self.newest_note, int(-notes.min()))
        if len(self) > self.capacity:
            # Drop the oldest lines first; notes are few and each stands for many lines.
            order = np.argsort(np.where(self.ids < 0, np.iinfo(np.int64).max, self.ids))
            keep_idx = np.sort(order[len(self) - self.capacity :])
            self.ids, self.matrix = self.ids[keep_idx], self.matrix[keep_idx]

    def search(self, query: np.ndarray, k: int, *, before_id: int) -> list[int]:
        """The k items most similar to the query (cosine; vectors are unit length), lines before ``before_id``."""
        if self.matrix is None or not len(self) or k <= 0:
            return []
        scores = self.matrix @ query.astype(np.float32)
        scores = np.where((self.ids > 0) & (self.ids >= before_id), -np.inf, scores)
        k = min(k, len(self))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(self.ids[i]) for i in top if np.isfinite(scores[i])]
