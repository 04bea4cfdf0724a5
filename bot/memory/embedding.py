"""The embedder port: how the engine turns lines into vectors, whichever model does it.

The engine needs two things: passages embedded in batches (by the background worker, off the hot path)
and one query embedded during a turn. Implementations live in ``bot.model.embeddings*``; ``None`` in
place of an embedder means lexical memory only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class EmbedderUnavailable(Exception):
    """The embedder could not answer (a server down after retries, a model that failed to load)."""


class Embedder(Protocol):
    """Text in, L2-normalised float32 vectors out."""

    @property
    def name(self) -> str:
        """An id of the model and its settings; vectors of different names are never compared."""
        ...

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """An (n, d) array, one row per text; ``query`` marks a search query (some models prefix it).

        Raises ``EmbedderUnavailable`` when no vector can be had.
        """
        ...


def normalised(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)
