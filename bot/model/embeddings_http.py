"""An embedder over any OpenAI-compatible ``/v1/embeddings`` endpoint, through the official SDK.

Retries follow the chat backend's policy (429 with ``Retry-After``, 5xx, timeouts; bounded by count and
total time); when they are spent the caller gets ``EmbedderUnavailable`` and memory falls back to words
for that turn.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence

import numpy as np
import openai
import structlog

from bot.memory.embedding import EmbedderUnavailable, normalised
from bot.model.retry import BadResponse, CallBudget, RetryPolicy, describe

log = structlog.get_logger("memory")


class HttpEmbedder:
    """``POST {base_url}/embeddings`` with ``model`` and a list of inputs."""

    def __init__(
        self, *, base_url: str, api_key: str, model: str, request_timeout: float = 20.0, max_attempts: int = 3,
        max_total_seconds: float = 30.0, query_prefix: str = "", passage_prefix: str = "",
    ) -> None:
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0)
        self.model = model
        self._timeout = request_timeout
        self._max_total = max_total_seconds
        self._policy = RetryPolicy(max_attempts=max_attempts, sleep=asyncio.sleep, rng=random.Random())
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix

    @property
    def name(self) -> str:
        return f"http:{self.model}"

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        prefix = self._query_prefix if query else self._passage_prefix
        inputs = [prefix + t for t in texts]
        budget = CallBudget(self.model, time.perf_counter() + self._max_total, self._timeout, time.perf_counter)
        try:
            async for attempt in self._policy.retrying(budget):
                with attempt:
                    budget.attempts += 1
                    response = await self._client.embeddings.create(model=self.model, input=inputs, timeout=budget.attempt_timeout())
                    rows = sorted(response.data, key=lambda d: d.index)
                    if len(rows) != len(inputs) or any(not r.embedding for r in rows):
                        raise BadResponse(f"{len(rows)} embeddings for {len(inputs)} inputs")
                    return normalised(np.array([r.embedding for r in rows], dtype=np.float32))
        except Exception as exc:
            log.warning("memory.embeddings_unavailable", model=self.model, attempts=budget.attempts, reason=describe(exc))
            raise EmbedderUnavailable(describe(exc)) from exc
        raise EmbedderUnavailable("no attempt was made")

    def close(self) -> None:
        pass
