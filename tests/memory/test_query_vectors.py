"""The query of a turn is embedded once per text: a second look at the same line (``/memory``, a regenerated
reply) reuses the vector, and the cache stays bounded."""

from __future__ import annotations

import random

import numpy as np

from bot.engine import recollection as recollection_module
from bot.engine.lines import InboundLine
from bot.engine.scene import SceneEngine


class CountingEmbedder:
    """Deterministic vectors from a text's words; counts what it was asked to embed as queries."""

    name = "counting-test"

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def embed(self, texts, *, query: bool = False):
        if query:
            self.queries.extend(texts)
        rows = np.zeros((len(texts), 32), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                rows[i, sum(map(ord, word)) % 32] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


async def test_the_same_query_is_embedded_once_and_the_cache_is_bounded(store, library, model, clock, key, monkeypatch):
    embedder = CountingEmbedder()
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1), embedder=embedder)
    engine.start_background()
    try:
        await engine.open_scene(key, "manor")
        await engine.summon(key, "Ada")
        await engine.handle(InboundLine(key, "u1", "Ann", "Ada, the lantern by the gate went out."))
        await engine.drain()
        asked = list(embedder.queries)
        assert asked == ["the lantern by the gate went out."]
        text = await engine.memory(key, "Ada")
        assert "lantern" in text
        assert embedder.queries == asked, "the /memory look at the same line reused the turn's query vector"

        monkeypatch.setattr(recollection_module, "QUERY_VECTORS", 2)
        for i in range(4):
            await engine.handle(InboundLine(key, "u1", "Ann", f"Ada, question number {i} about the tide."))
        assert len(engine.recollection._queries) == 2
    finally:
        await engine.aclose()


async def test_a_players_line_is_embedded_as_a_query_when_stored_before_the_speaker_gathers_its_inputs(
    store, library, model, clock, key, monkeypatch
):
    """The query vector is started at intake (on the embedder's thread), not when the speaker's recall asks:
    the embedding overlaps the turn's narration, scheduling and reads, and the recall awaits what is left."""
    events: list[str] = []

    class Recording(CountingEmbedder):
        async def embed(self, texts, *, query: bool = False):
            if query:
                events.append("embed query")
            return await super().embed(texts, query=query)

    read_together = store.read_together

    async def recorded_read_together(*queries):
        # the speaker's inputs (heard lines, summary, notes, events) come in one round trip
        if any("FROM messages m" in q.sql and "heard_by" in q.sql for q in queries):
            events.append("gather inputs")
        return await read_together(*queries)

    monkeypatch.setattr(store, "read_together", recorded_read_together)
    embedder = Recording()
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1), embedder=embedder)
    engine.start_background()
    try:
        await engine.open_scene(key, "manor")
        await engine.summon(key, "Ada")
        events.clear()
        await engine.handle(InboundLine(key, "u1", "Ann", "Ada, the lantern by the gate went out."))
        await engine.drain()
        assert events.index("embed query") < events.index("gather inputs"), events
        assert embedder.queries == ["the lantern by the gate went out."]
        assert engine.recollection.timings.wait_ms, "the recall waited for (or found) the prefetched vector"
    finally:
        await engine.aclose()


async def test_a_failed_prefetch_is_not_tried_again_by_the_recall_and_close_stops_prefetching(store, library, model, clock, key):
    """An embedder that is down fails the prefetch once; the recall gets that failure and recalls by words, rather
    than asking the embedder a second time for the same line (an HTTP embedder would retry twice per line). After
    close, nothing new is prefetched."""
    from bot.memory.embedding import EmbedderUnavailable

    class Down:
        name = "down-test"
        calls = 0

        async def embed(self, texts, *, query: bool = False):
            if query:
                Down.calls += 1
            raise EmbedderUnavailable("no embedder here")

    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1), embedder=Down())
    engine.start_background()
    try:
        await engine.open_scene(key, "manor")
        await engine.summon(key, "Ada")
        outcome = await engine.handle(InboundLine(key, "u1", "Ann", "Ada, the lantern by the gate went out."))
        assert [u.speaker for u in outcome.utterances] == ["Ada"], outcome
        assert Down.calls == 1
    finally:
        await engine.aclose()
    engine.recollection.prefetch("Ada, one more line.")
    assert not engine.recollection._embedding
