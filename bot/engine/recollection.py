"""What a character recalls for the line in front of it, and the background worker that embeds lines.

``Recollection.prefetch`` starts embedding a player's line as a query the moment it is stored, on the
embedder's thread, while the turn goes on (narration, who speaks, the speaker's inputs), so the speaker's
recall waits only for what is left of it (an e5-small query costs 15-30 ms of CPU here, most of what
recall with meaning costs; ``bench memory`` shows how much a turn at machine speed still waits).

``Recollection.recall`` runs in a turn: one word query (BM25 in SQLite, ts_rank in PostgreSQL;
filtered to what the character heard, ``LIMIT k``), one query embedding (of the line without the scene's
character names where they are a form of address), one bounded matrix product over the character's ``VectorSet`` ranked three times (all it
heard, the speaker's own lines, and the lines in which the speaker told something about themself), fused by
``bot.memory.retrieval.fuse``. Nothing here reads the whole scene.

``EmbeddingWorker`` runs beside the turns: it embeds committed lines and notes in batches (the
model on its own thread), so a turn only ever embeds its query. At start it catches up whatever
the previous run left unembedded. It is one named task, owned by the engine, cancelled on close.
When lines come faster than it embeds them, a turn waits (bounded) for it to reach the lines that
have left the character's history window: ``bench memory`` showed that, unchecked, the worker fell
about 400 lines behind at full speed and recall by meaning silently lost most facts (paraphrase
recall 58% instead of 73% on the tune scene). Slower turns under overload are the honest trade.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from bot.memory.embedding import Embedder, EmbedderUnavailable
from bot.memory.retrieval import FusionWeights, Recalled, VectorSet, fuse, only_asks, without_address
from bot.store import Store

log = structlog.get_logger("memory")

LEXICAL_K = 12
DENSE_K = 12
VECTOR_CAPACITY = 6000
BATCH = 32
POLL_SECONDS = 2.0
# The embedder looks this many lines behind its watermark again, for a reply whose text a swipe replaced.
RECHECK = 40
# A turn waits for the embedder only when it is at most this many lines behind (see EmbeddingWorker.reach).
MAX_WAIT_GAP = 2000
# Vector sets kept between turns (one per character of a scene; the least recently used is dropped and
# read back from the store when needed), and query vectors kept by text: a regenerated reply, a second
# character answering the same line, ``/memory``, ask for the same query again, and an embedding costs
# tens of milliseconds of CPU where a lookup costs nothing.
VECTOR_SETS = 256
QUERY_VECTORS = 512
# The timings kept for the summary logged at close (the newest; a bot runs for months).
TIMINGS_KEPT = 20_000


@dataclass
class RecallTimings:
    """Milliseconds of the recalls so far (for the benchmarks and the log line at close): each recall's
    total, each query embedding's own duration, and how long each recall waited for its query vector
    (less than the embedding when it was prefetched)."""

    total_ms: deque[float] = field(default_factory=lambda: deque(maxlen=TIMINGS_KEPT))
    embed_ms: deque[float] = field(default_factory=lambda: deque(maxlen=TIMINGS_KEPT))
    wait_ms: deque[float] = field(default_factory=lambda: deque(maxlen=TIMINGS_KEPT))

    def summary(self) -> dict[str, float | int]:
        def p(values: deque[float], q: float) -> float:
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else 0.0

        return {
            "recalls": len(self.total_ms), "total_ms_p50": p(self.total_ms, 0.5), "total_ms_p99": p(self.total_ms, 0.99),
            "wait_ms_p50": p(self.wait_ms, 0.5), "wait_ms_p99": p(self.wait_ms, 0.99), "embed_ms_p50": p(self.embed_ms, 0.5),
        }


@dataclass(frozen=True, slots=True)
class Query:
    """The line a character answers: its id (never recalled itself), speaker and text."""

    message_id: int
    speaker: str
    text: str


class Recollection:
    """Hybrid recall for the engine; holds each character's vector set between turns."""

    def __init__(self, store: Store, embedder: Embedder | None, *, weights: FusionWeights | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.weights = weights or FusionWeights()
        self.timings = RecallTimings()
        self._sets: OrderedDict[tuple[int, str], VectorSet] = OrderedDict()
        self._queries: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._embedding: dict[tuple[str, str], asyncio.Task[object]] = {}
        self._warned = False
        self._closed = False

    def forget_scene(self, scene_id: int) -> None:
        """Drop cached vectors of a scene (after a rewind removed lines)."""
        for key in [k for k in self._sets if k[0] == scene_id]:
            del self._sets[key]

    def prefetch(self, text: str, address: Sequence[str] = ()) -> None:
        """Start embedding ``text`` as a query now (``address``: names to leave out where they are a form of
        address, the same ``recall`` is given); a recall of the same text then waits only for what is left."""
        if self.embedder is None or self._closed or not text.strip():
            return
        query_text = without_address(text, address) or text
        key = (self.embedder.name, query_text)
        if key in self._queries or key in self._embedding:
            return
        while len(self._embedding) >= QUERY_VECTORS:  # failed ones nobody asked for
            self._embedding.pop(next(iter(self._embedding)))
        task = asyncio.get_running_loop().create_task(self._embed_query(key), name="memory-query")
        self._embedding[key] = task
        task.add_done_callback(lambda done: self._embedded(key, done))

    def _embedded(self, key: tuple[str, str], task: asyncio.Task[object]) -> None:
        """A prefetch finished: its vector is in ``_queries``; a failure stays for the recall that asks, which
        then gets it at once instead of trying the embedder a second time for the same line."""
        if task.cancelled() or task.exception() is None:
            self._embedding.pop(key, None)

    async def _embed_query(self, key: tuple[str, str]) -> object:
        assert self.embedder is not None
        started = time.perf_counter()
        vector = (await self.embedder.embed([key[1]], query=True))[0]
        self.timings.embed_ms.append((time.perf_counter() - started) * 1000)
        self._queries[key] = vector
        while len(self._queries) > QUERY_VECTORS:
            self._queries.popitem(last=False)
        return vector

    async def _query_vector(self, text: str):
        """The query's vector: kept from an earlier recall of the same text, being embedded since the line
        was stored, or embedded now."""
        assert self.embedder is not None
        key = (self.embedder.name, text)
        vector = self._queries.get(key)
        if vector is not None:
            self._queries.move_to_end(key)
            return vector
        task = self._embedding.get(key)
        if task is not None:
            if task.done() and not task.cancelled():
                self._embedding.pop(key, None)  # a failed prefetch: raised once, here
            try:
                return await asyncio.shield(task)  # a cancelled recall must not cancel a shared embedding
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not task.cancelled() or (current is not None and current.cancelling()):
                    raise
                # the prefetch was cancelled (the engine is closing), this recall was not: embed here
        return await self._embed_query(key)

    def close(self) -> None:
        """Cancel query embeddings still running and take no new ones (the engine is closing)."""
        self._closed = True
        for task in list(self._embedding.values()):
            task.cancel()
        self._embedding.clear()
        if self.timings.total_ms:
            log.info("memory.recall_timings", **self.timings.summary())

    async def _vectors(self, scene_id: int, character_id: str, model: str) -> VectorSet:
        vectors = self._sets.get((scene_id, character_id))
        if vectors is None:
            vectors = VectorSet(VECTOR_CAPACITY)
            ids, matrix, speakers, texts = await self.store.memory.vectors(scene_id, character_id, model, limit=VECTOR_CAPACITY)
            vectors.add(ids, matrix, speakers, texts)
            self._sets[(scene_id, character_id)] = vectors
            while len(self._sets) > VECTOR_SETS:
                self._sets.popitem(last=False)
        else:
            self._sets.move_to_end((scene_id, character_id))
            ids, matrix, speakers, texts = await self.store.memory.vectors(
                scene_id, character_id, model, limit=VECTOR_CAPACITY, after_line=vectors.newest_line, after_note=vectors.newest_note,
            )
            vectors.add(ids, matrix, speakers, texts)
        return vectors

    async def _by_meaning(
        self, scene_id: int, character_id: str, query: Query, vector_task: asyncio.Future[object] | None
    ) -> tuple[list[int], list[int], list[int]]:
        """The three meaning rankings (all heard, the speaker's own lines, the speaker's disclosures); empty
        when there is no embedder or it is unavailable."""
        if self.embedder is None or vector_task is None:
            return [], [], []
        try:
            vectors = await self._vectors(scene_id, character_id, self.embedder.name)
            waiting = time.perf_counter()
            vector = await vector_task
            self.timings.wait_ms.append((time.perf_counter() - waiting) * 1000)
        except EmbedderUnavailable as exc:
            if not self._warned:
                log.warning("memory.degraded", reason=f"embedder unavailable, recalling by words only: {exc}")
                self._warned = True
            return [], [], []
        scores = vectors.similarities(vector) if len(vectors) else None
        dense = vectors.search(vector, DENSE_K, before_id=query.message_id, scores=scores)
        if not query.speaker:
            return dense, [], []
        own = vectors.search(vector, DENSE_K, before_id=query.message_id, speaker=query.speaker, scores=scores)
        told = vectors.search(vector, DENSE_K, before_id=query.message_id, speaker=query.speaker, told=True, scores=scores)
        return dense, own, told

    async def recall(
        self, scene_id: int, character_id: str, query: Query, *, k: int = 12, names: Sequence[str] = (),
        address: Sequence[str] = (),
    ) -> list[Recalled]:
        """The best k lines and notes this character knows for the query, best first.

        ``names``: the character's own names, left out of the word search (a line that says "Tom, ..." is
        about something else than Tom). ``address``: names left out of the query's meaning where they are
        a form of address (default ``names``); the engine passes everyone in the scene, so that one query
        vector, prefetched when the line was stored, serves whoever answers.
        """
        started = time.perf_counter()
        vector_task: asyncio.Future[object] | None = None
        if self.embedder is not None:
            # the query vector comes on the embedder's thread while the word query runs on the store's
            vector_task = asyncio.ensure_future(self._query_vector(without_address(query.text, address or names) or query.text))
        try:
            lexical = await self.store.memory.lexical(
                scene_id, character_id, query.text, k=LEXICAL_K, before_id=query.message_id, drop=names
            )
            dense, own, told = await self._by_meaning(scene_id, character_id, query, vector_task)
        finally:
            if vector_task is not None:
                if not vector_task.done():
                    vector_task.cancel()
                elif not vector_task.cancelled():
                    vector_task.exception()  # raised and handled in _by_meaning, or left with a failed lexical query
        lexical_ids = [h.item_id for h in lexical]
        items = await self.store.memory.items(sorted({*lexical_ids, *dense, *own, *told}))
        speakers = {i: m.speaker for i, m in items.items()}
        questions = {i for i, m in items.items() if m.kind != "note" and only_asks(m.text)}
        fused = fuse(
            lexical_ids, dense, speakers=speakers, query_speaker=query.speaker, own=own, told=told, questions=questions,
            weights=self.weights,
        )
        recalled = []
        for item_id, score, lex_rank, den_rank in fused:
            item = items.get(item_id)
            if item is None or item_id == query.message_id:
                continue
            recalled.append(Recalled(item_id, item.turn_seq, item.speaker, item.text, item.kind, score, lex_rank, den_rank))
            if len(recalled) >= k:
                break
        self.timings.total_ms.append((time.perf_counter() - started) * 1000)
        return recalled


class EmbeddingWorker:
    """Embeds new lines and notes in the background, in batches, from a watermark."""

    def __init__(self, store: Store, embedder: Embedder, *, batch: int = BATCH, poll_seconds: float = POLL_SECONDS) -> None:
        self.store = store
        self.embedder = embedder
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.embedded = 0
        self._watermark = 0
        self._note_watermark = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._progress = asyncio.Condition()
        self.waited_s = 0.0
        self._behind_logged = float("-inf")

    @property
    def embedded_upto(self) -> int:
        """Every line up to this id has its vector (or never needs one)."""
        return self._watermark

    def start(self) -> None:
        """Start the worker (idempotent); it first catches up the backlog."""
        if self._task is None or self._task.done():
            self._idle.clear()
            self._task = asyncio.create_task(self._run(), name="memory-embedder")

    def redo(self, message_id: int) -> None:
        """A line's text changed (a player's edit) and its vector was dropped: embed it again, however far
        behind the watermark it lies, then go on from there (lines that have their vector are skipped)."""
        self._watermark = min(self._watermark, max(0, message_id - 1 + RECHECK))
        self.wake()

    def wake(self) -> None:
        """New lines were committed."""
        self._idle.clear()
        self._wake.set()

    async def drain(self) -> None:
        """Wait until everything committed so far is embedded (or the embedder gave up for now)."""
        if self._task is None or self._task.done() or self._failures:
            return  # nothing running, or the embedder is down and the worker is backing off
        self.wake()
        await self._idle.wait()

    async def reach(self, message_id: int, *, timeout: float) -> bool:
        """Wait until every line up to ``message_id`` is embedded, at most ``timeout`` seconds.

        True when it is (or there is nothing left to embed). Returns at once when the worker is not
        running, is backing off from a failing embedder (a down embedder must not stall turns), or is more
        than ``MAX_WAIT_GAP`` lines behind (a backlog it catches up in the background).
        """
        if self._watermark >= message_id:
            return True
        if self._task is None or self._task.done() or self._failures:
            return False
        if message_id - self._watermark > MAX_WAIT_GAP:
            # A backlog (an upgraded database, a restart after a long outage, stories imported in bulk) is
            # caught up without holding turns: waiting could not close it, and every turn would pay the
            # full timeout. Only the lag that builds while lines arrive slows turns down.
            self._log_behind(message_id, 0.0)
            return False
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.wake()
        async with self._progress:
            while self._watermark < message_id and not self._failures and not self._idle.is_set():
                left = timeout - (loop.time() - started)
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(self._progress.wait(), timeout=left)
                except TimeoutError:
                    break
        waited = loop.time() - started
        self.waited_s += waited
        caught_up = self._watermark >= message_id or self._idle.is_set()
        if not caught_up:
            self._log_behind(message_id, waited)
        return caught_up

    def _log_behind(self, message_id: int, waited: float) -> None:
        now = time.monotonic()
        if now - self._behind_logged > 60:
            self._behind_logged = now
            log.warning("memory.embedder_behind", embedded_upto=self._watermark, needed=message_id, waited_s=round(waited, 2))

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._idle.set()
        await self._notify()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                done = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # off the hot path: log, back off, try again later
                log.exception("memory.embedder_failed")
                self._failures += 1
                done = 0
            if done:
                await self._notify()
                continue
            if self._wake.is_set() and not self._failures:
                continue
            self._idle.set()
            await self._notify()
            if self._failures:
                # Backing off: new lines wait too, so a down embedder is not asked again after every turn.
                await asyncio.sleep(self.poll_seconds * (2 ** min(self._failures, 5)))
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass

    async def _step(self) -> int:
        """Embed one batch; the number embedded (0: nothing to do, or the embedder is down).

        The watermarks (lines, notes) say "everything up to here has its vector". A batch that comes back
        short of ``batch`` rows of a kind means nothing older than the newest id read *before* the query
        is left, so the watermark moves there: otherwise, on a database whose lines are all embedded, the
        watermark would stay where the process started and every step (every commit) would look through
        the whole history for unembedded lines, and ``reach`` would never see the worker caught up.
        """
        model = self.embedder.name
        newest_line, newest_note = await self.store.memory.newest_ids()
        rows = await self.store.memory.unembedded(
            model, after_id=max(0, self._watermark - RECHECK), after_note=max(0, self._note_watermark - RECHECK), limit=self.batch
        )
        lines = sum(1 for i, _ in rows if i > 0)
        if not rows:
            self._watermark = max(self._watermark, newest_line)
            self._note_watermark = max(self._note_watermark, newest_note)
            return 0
        try:
            vectors = await self.embedder.embed([text for _, text in rows])
        except EmbedderUnavailable as exc:
            self._failures += 1
            log.warning("memory.embedder_unavailable", pending=len(rows), error=str(exc)[:200], failures=self._failures)
            return 0
        self._failures = 0
        await self.store.store_vectors(model, [(item_id, vectors[i]) for i, (item_id, _) in enumerate(rows)])
        self._watermark = max([self._watermark, *(i for i, _ in rows if i > 0), *([newest_line] if lines < self.batch else [])])
        notes = len(rows) - lines
        self._note_watermark = max([self._note_watermark, *(-i for i, _ in rows if i < 0), *([newest_note] if notes < self.batch else [])])
        self.embedded += len(rows)
        return len(rows)


def query_of(rows: Sequence, character_id: str) -> Query | None:
    """The line a character is answering: the newest line in its history it did not say itself,
    spoken rather than narrated when there is one (narration says where people went, not what to recall)."""
    messages = [row[0] if isinstance(row, tuple) else row for row in rows]
    candidates = [m for m in messages if m.character_id != character_id and m.kind != "ooc"]
    spoken = [m for m in candidates if m.kind != "narration"]
    chosen = (spoken or candidates or [None])[-1]
    return Query(chosen.id, chosen.speaker, chosen.text) if chosen is not None else None


__all__ = ["EmbeddingWorker", "Query", "Recollection", "query_of"]
