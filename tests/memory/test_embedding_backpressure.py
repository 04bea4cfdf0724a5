"""A turn waits, within bounds, for the embedding worker to reach the lines that left the history window."""

from __future__ import annotations

import asyncio

import numpy as np

from bot.engine.recollection import EmbeddingWorker
from bot.memory.embedding import EmbedderUnavailable
from bot.store.records import NewMessage


class GatedEmbedder:
    """Embeds one batch each time the test opens the gate (a real computation: a hashed bag of words)."""

    name = "gated-test"

    def __init__(self) -> None:
        self.gate = asyncio.Semaphore(0)
        self.down = False

    async def embed(self, texts, *, query=False):
        if self.down:
            raise EmbedderUnavailable("down for the test")
        await self.gate.acquire()
        out = np.zeros((len(texts), 16), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split():
                out[i, hash(word) % 16] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


async def _lines(store, n):
    scene = await store.create_scene("g1", "c1", "manor", "hall")
    ids = []
    for i in range(n):
        start = await store.begin_turn(scene.id, NewMessage("user", "Ann", f"line {i} about boats", heard_by=("ada",)))
        ids.append(start.message_id)
    return ids


async def test_reach_waits_for_the_worker_and_gives_up_at_the_deadline(store):
    embedder = GatedEmbedder()
    worker = EmbeddingWorker(store, embedder, batch=4, poll_seconds=0.05)
    ids = await _lines(store, 10)
    worker.start()
    # Nothing embedded yet and the gate stays shut: the wait ends at its deadline, not before.
    assert await worker.reach(ids[5], timeout=0.2) is False
    assert worker.waited_s >= 0.15
    # Two batches of four reach line 6 (index 5); the wait returns as soon as they are in.
    for _ in range(2):
        embedder.gate.release()
    assert await worker.reach(ids[5], timeout=5) is True
    assert worker.embedded == 8
    await worker.aclose()


async def test_a_down_embedder_never_holds_a_turn(store):
    embedder = GatedEmbedder()
    embedder.down = True
    worker = EmbeddingWorker(store, embedder, batch=4, poll_seconds=0.05)
    ids = await _lines(store, 6)
    worker.start()
    await asyncio.sleep(0.05)  # the first batch fails and the worker backs off
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await worker.reach(ids[-1], timeout=5) is False
    assert loop.time() - started < 1
    await worker.aclose()


async def test_a_backlog_far_behind_is_caught_up_without_holding_turns(store, monkeypatch):
    """An upgraded database or stories imported in bulk leave thousands of lines unembedded: turns do not
    wait for that (they would each pay the whole timeout), only for the lag that builds while lines arrive."""
    from bot.engine import recollection

    monkeypatch.setattr(recollection, "MAX_WAIT_GAP", 3)
    embedder = GatedEmbedder()
    worker = EmbeddingWorker(store, embedder, batch=4, poll_seconds=0.05)
    ids = await _lines(store, 8)
    worker.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await worker.reach(ids[-1], timeout=5) is False  # 8 lines behind, more than the gap of 3
    assert loop.time() - started < 1
    embedder.gate.release()  # one batch of four is embedded: line 6 is now within the gap of 3
    for _ in range(200):
        if worker.embedded == 4:
            break
        await asyncio.sleep(0.01)
    assert worker.embedded == 4
    waiting = asyncio.create_task(worker.reach(ids[5], timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # within the gap, the turn waits ...
    embedder.gate.release()
    assert await waiting is True  # ... until the next batch reaches its line
    await worker.aclose()


async def test_on_a_fully_embedded_database_the_worker_is_caught_up_after_one_look(store, monkeypatch):
    """A restart over a history whose lines all have their vectors: the watermark moves to the newest line
    at once, so turns never wait and later steps read only what is new (not the whole history each time)."""
    from bot.engine import recollection

    monkeypatch.setattr(recollection, "MAX_WAIT_GAP", 3)
    embedder = GatedEmbedder()
    ids = await _lines(store, 12)
    await store.store_vectors(embedder.name, [(i, np.ones(16, dtype=np.float32) / 4.0) for i in ids])
    worker = EmbeddingWorker(store, embedder, batch=4, poll_seconds=0.05)
    worker.start()
    await worker.drain()
    assert worker.embedded_upto == ids[-1]
    assert await worker.reach(ids[-1], timeout=5) is True and worker.waited_s == 0.0
    seen: list[int] = []
    real = store.memory.unembedded

    async def spy(model, *, after_id, limit, after_note=0):
        seen.append(after_id)
        return await real(model, after_id=after_id, limit=limit, after_note=after_note)

    monkeypatch.setattr(store.memory, "unembedded", spy)
    more = await _lines(store, 1)
    embedder.gate.release()
    assert await worker.reach(more[-1], timeout=5) is True
    assert seen and min(seen) >= ids[-1] - recollection.RECHECK, "a later step looks only near the newest lines"
    await worker.aclose()
