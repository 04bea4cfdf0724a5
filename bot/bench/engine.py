"""``bench engine``: what one NPC reply costs the bot, measured like an outsider would.

Real parts only: the app built by ``bot.app.open_app`` (SQLite on disk, or with ``--database-url`` a fresh
database per section on that PostgreSQL server; content, the warm-up), the real
openai SDK, and the zero-latency model server ``python -m bot.testing.openai_server`` in **another
process** (its CPU is not ours; the SDK's request building and response parsing are). Player lines come
from a pool of 217 distinct lines (``bot.bench.lines``), one scene per server (guild).

Per NPC reply, from :mod:`bot.bench.meter`:

- **loop CPU**: CPU time of the event-loop thread spent in the scene's own task (engine, guards, SDK);
- **queued**: time the scene's task was ready to run but the loop was busy with other scenes;
- **model**: time waiting for the model server's answer (wall inside model calls minus the two above);
- **overhead**: wall time minus model minus queued: what the bot adds to the model's latency.

A committed turn with two NPC lines gives two samples of half its cost; a line nobody answers carries its
cost into the next reply. Background summaries run in tasks of their own: never charged to a reply, and
their model time never subtracted from one; they do count in the process CPU per reply. Warm-up lines
are excluded (the first reply after start is reported on its own). The floor, measured in the same run
(one store transaction, SQLite WAL or PostgreSQL, and one SDK round trip), turns every figure into a ratio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import yaml

from bot.app import App, build_model, open_app
from bot.bench import meter
from bot.bench.lines import PLAYER_LINES
from bot.bench.report import peak_rss_mb, percentile, print_grid, print_table, write_json
from bot.bench.server import ModelServerProcess
from bot.core.ports import ChatMessage, ChatModel, ChatOptions, ChatResult
from bot.engine.lines import InboundLine, SceneKey, TurnOutcome
from bot.settings import Settings
from bot.store.records import NewMessage, TurnCommit

HARBOR_TRIO = ("Mira", "Old Tom", "Captain Vell")
WARMUP_LINES = 3


@dataclass(frozen=True)
class Plan:
    """How much to play; ``quick`` is the smoke test the suite runs."""

    concurrency: tuple[tuple[int, int], ...]  # (scenes, measured lines per scene)
    age_turns: tuple[int, ...]
    age_window: int
    cast_lines: int
    stored_scenes: int
    stored_lines: int
    floor_samples: int
    play_lines: int

    @classmethod
    def full(cls) -> Plan:
        return cls(((1, 300), (10, 40), (100, 8)), (20, 500, 1000), 20, 60, 1000, 60, 300, 1000)

    @classmethod
    def quick(cls) -> Plan:
        return cls(((1, 12), (3, 4)), (8, 24), 8, 8, 20, 8, 20, 16)


class TimedModel:
    """Adds each model call of a metered scene task to its meter: the wait for the server's answer."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        own = meter.current_meter()
        if own is None:  # a background summary: not part of any reply
            return await self.inner.complete(messages, options)
        wall, cpu, queued = time.perf_counter(), own.cpu, own.queued
        try:
            return await self.inner.complete(messages, options)
        finally:
            own.model_calls += 1
            own.model_wait += (time.perf_counter() - wall) - (own.cpu - cpu) - (own.queued - queued)

    def stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> AsyncIterator[str]:
        return self.inner.stream(messages, options)

    async def aclose(self) -> None:
        await self.inner.aclose()  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Sample:
    """One NPC reply (milliseconds): see the module docstring."""

    line: int
    cpu: float
    wall: float
    queued: float
    model: float
    calls: float

    @property
    def overhead(self) -> float:
        return self.wall - self.model - self.queued


@dataclass
class SceneRun:
    """One scene's samples; clocks (wall, loop thread CPU, process CPU, embedder CPU) when it passed the gate
    and ended."""

    samples: list[Sample]
    replies: int
    lines: int
    gated: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    ended: float = 0.0
    ended_cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _no_embedder() -> float:
    return 0.0


# CPU seconds the app's embedder spent so far (its model threads); set by ``_app`` for the app it opens.
_embedder_cpu: list[Any] = [_no_embedder]


def _clocks() -> tuple[float, float, float, float]:
    return time.perf_counter(), time.thread_time(), time.process_time(), _embedder_cpu[0]()


# -- playing ---------------------------------------------------------------------------------------


async def _play_scene(
    app: App, key: SceneKey, world_id: str, summon: Sequence[str], lines: Sequence[str], *,
    warmup: int, gate: Any = None,
) -> SceneRun:
    """Play ``lines`` in one scene (run under :func:`meter.start_metered`); samples after ``warmup`` lines."""
    own = meter.current_meter()
    assert own is not None, "scene drivers run as metered tasks"
    await app.engine.open_scene(key, world_id)
    for name in summon:
        await app.engine.summon(key, name)
    run = SceneRun([], 0, 0)
    mark = own.snapshot()
    index = 0

    async def on_outcome(outcome: TurnOutcome) -> None:
        nonlocal mark
        replies = len(outcome.utterances)
        if not replies:
            return
        now = own.snapshot()
        if index >= warmup:
            wall, cpu, queued, calls, model = ((b - a) / replies for a, b in zip(mark, now, strict=True))
            sample = Sample(index, cpu * 1000, wall * 1000, queued * 1000, model * 1000, calls)
            run.samples.extend(sample for _ in range(replies))
            run.replies += replies
        mark = now

    for index, text in enumerate(lines):
        if index == warmup:
            if gate is not None:
                await gate.wait()
            run.gated = _clocks()
            mark = own.snapshot()
        await app.engine.handle(InboundLine(key, "player", "Ann", text), on_outcome=on_outcome)
        if index >= warmup:
            run.lines += 1
    run.ended, *cpu = _clocks()
    run.ended_cpu = (cpu[0], cpu[1], cpu[2])
    return run


def _script(seed: int, count: int) -> list[str]:
    """``count`` player lines drawn from the pool, no line twice in a row."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        line = rng.choice(PLAYER_LINES)
        if not out or out[-1] != line:
            out.append(line)
    return out


async def _scenes(
    app: App, count: int, lines: int, *, world_id: str = "harbor", summon: Sequence[str] = HARBOR_TRIO,
    prefix: str = "bench", warmup: int = WARMUP_LINES, guilds: Sequence[str] | None = None, gate: Any = None,
) -> dict[str, Any]:
    """``count`` scenes (one per guild: ``guilds`` or ``{prefix}-g{i}``) played concurrently; figures of the
    measured lines. Every scene waits at ``gate`` (an object with ``async wait()``; by default a barrier of
    the ``count`` scenes) after its warm-up, so the clocks start when all are warm."""
    gate = gate if gate is not None else asyncio.Barrier(count)

    async def one(i: int) -> SceneRun:
        key = SceneKey(guilds[i] if guilds is not None else f"{prefix}-g{i}", "roleplay")
        return await _play_scene(app, key, world_id, summon, _script(1000 + i, warmup + lines), warmup=warmup, gate=gate)

    tasks = [meter.start_metered(one(i), name=f"scene-{i}")[0] for i in range(count)]
    runs = list(await asyncio.gather(*tasks))
    first = min(runs, key=lambda r: r.gated[0])  # the first task past the gate read the clocks at the start
    elapsed = max(r.ended for r in runs) - first.gated[0]
    loop_cpu = max(r.ended_cpu[0] for r in runs) - first.gated[1]
    process_cpu = max(r.ended_cpu[1] for r in runs) - first.gated[2]
    embedder_cpu = max(r.ended_cpu[2] for r in runs) - first.gated[3]
    await app.engine.drain()
    figures = _figures([s for r in runs for s in r.samples])
    replies = sum(r.replies for r in runs)
    figures.update(
        scenes=count,
        lines=sum(r.lines for r in runs),
        replies=replies,
        elapsed_s=round(elapsed, 3),
        started=first.gated[0],  # time.perf_counter: on Linux one monotonic clock for every process
        ended=max(r.ended for r in runs),
        replies_per_s=round(replies / elapsed, 1) if elapsed > 0 else 0.0,
        loop_thread_cpu_ms_per_reply=_r(loop_cpu * 1000 / replies) if replies else 0.0,
        process_cpu_ms_per_reply=_r(process_cpu * 1000 / replies) if replies else 0.0,
        embedder_cpu_ms_per_reply=_r(embedder_cpu * 1000 / replies) if replies else 0.0,
    )
    return figures


def _figures(samples: Sequence[Sample]) -> dict[str, Any]:
    def dist(values: list[float]) -> dict[str, float]:
        return {f"p{q}": _r(percentile(values, q)) for q in (50, 90, 99)} | {"max": _r(max(values, default=0.0))}

    return {
        "samples": len(samples),
        "loop_cpu_ms": dist([s.cpu for s in samples]),
        "overhead_ms": dist([s.overhead for s in samples]),
        "queued_ms": dist([s.queued for s in samples]),
        "model_ms": dist([s.model for s in samples]),
        "wall_ms": dist([s.wall for s in samples]),
        "model_calls_per_reply": _r(sum(s.calls for s in samples) / len(samples)) if samples else 0.0,
    }


def _r(value: float) -> float:
    return round(value, 3)


# -- where each section's database is ----------------------------------------------------------------


class BenchDatabases:
    """A fresh database per section: a SQLite file in the run's folder, or (``database_url``) a new database
    on that PostgreSQL server, created for the section (its user needs CREATEDB) and dropped at the end."""

    def __init__(self, tmp: Path, database_url: str | None) -> None:
        self.tmp = tmp
        self.url = database_url
        self.created: list[str] = []

    @property
    def engine(self) -> str:
        return "PostgreSQL" if self.url else "SQLite WAL"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        assert self.url is not None
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fresh(self, name: str) -> dict[str, Any]:
        """The settings that point a section at its own empty database."""
        if self.url is None:
            return {"DATABASE_PATH": self.tmp / f"{name}.db", "DATABASE_URL": None}  # never a DATABASE_URL of the environment
        database = f"ensemble_bench_{os.getpid()}_{name}"
        await self._admin(f'DROP DATABASE IF EXISTS "{database}"')
        await self._admin(f'CREATE DATABASE "{database}"')
        self.created.append(database)
        parts = urlsplit(self.url)
        return {"DATABASE_PATH": self.tmp / "unused.db", "DATABASE_URL": urlunsplit(parts._replace(path=f"/{database}"))}

    async def version(self) -> str:
        if self.url is None:
            return f"SQLite {sqlite3.sqlite_version}"
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            return f"PostgreSQL {await conn.fetchval('SHOW server_version')}"
        finally:
            await conn.close()

    async def drop_all(self) -> None:
        for database in self.created:
            with contextlib.suppress(Exception):
                await self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.created.clear()


# -- the app, content and stored scenes -------------------------------------------------------------


@contextlib.asynccontextmanager
async def _app(
    where: BenchDatabases, name: str, server: ModelServerProcess, characters: Path, worlds: Path, *, embeddings: str = "auto"
) -> AsyncIterator[App]:
    settings = Settings(
        EMBEDDINGS=embeddings,
        **await where.fresh(name), CHARACTERS_DIR=characters, WORLDS_DIR=worlds,
        LLM_BASE_URL=server.base_url, LLM_API_KEY="bench", LLM_MODEL="fake-model", RANDOM_SEED=7,
        USER_LINES_PER_MINUTE=0,  # the benchmark plays faster than any person: measure the engine, not the limit
    )
    model = TimedModel(build_model(settings.require_model()))
    try:
        async with open_app(settings, model=model) as app:
            with embedder_clock(app):
                yield app
                await app.engine.drain()
    finally:
        await model.aclose()


@contextlib.contextmanager
def embedder_clock(app: App) -> Iterator[None]:
    """While the block runs, ``_clocks`` reads the CPU of ``app``'s embedder threads (the bundled model
    counts them; an endpoint's embedder has none in this process)."""
    worker = app.engine.embedding_worker
    embedder: Any = worker.embedder if worker is not None else None
    if hasattr(embedder, "cpu_seconds"):
        _embedder_cpu[0] = lambda: float(embedder.cpu_seconds)
    try:
        yield
    finally:
        _embedder_cpu[0] = _no_embedder


FIRST_NAMES = (
    "Ansel", "Bethan", "Corwin", "Dilys", "Edric", "Fenna", "Gideon", "Hester", "Ivo", "Jessamy", "Kester", "Lowena",
    "Morwen", "Nye", "Osric", "Petra", "Quill", "Rhoswen", "Silas", "Tamsin", "Ulric", "Verity", "Wenna", "Yestin",
    "Zillah", "Bramwell",
)
SURNAMES = (
    "Crane", "Rook", "Penhale", "Tregear", "Moyle", "Trewin", "Nance", "Pascoe", "Jago", "Quick", "Rowe", "Santo",
    "Tonkin", "Vosper", "Warne", "Hocking", "Kitto", "Laity", "Bolitho", "Carne", "Dunstan", "Eddy", "Gilbert",
    "Harvey", "Ivey", "Keast",
)


def _big_cast(root: Path, source_characters: Path, source_worlds: Path, size: int) -> tuple[Path, Path, str]:
    """Content with a copy of the harbour world whose cast is its four plus ``size - 4`` more people."""
    characters, worlds = root / "characters", root / "worlds"
    characters.mkdir(parents=True)
    worlds.mkdir(parents=True)
    world = yaml.safe_load((source_worlds / "harbor.yaml").read_text(encoding="utf-8"))
    cast = list(world["cast"])
    for cid in cast:
        shutil.copy(source_characters / f"{cid}.yaml", characters / f"{cid}.yaml")
    template = yaml.safe_load((source_characters / "old-tom.yaml").read_text(encoding="utf-8"))
    for i in range(size - len(cast)):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], SURNAMES[i % len(SURNAMES)]
        cid = f"{first}-{last}".lower()
        person = dict(template, name=f"{first} {last}", aliases=[first], start_location=world["user_start"])
        person["relationships"] = {"user": {"affinity": 0, "note": "a stranger"}}
        person["description"] = f"{first} {last}, who works the harbour and hears everything said on the quay."
        (characters / f"{cid}.yaml").write_text(yaml.safe_dump(person, allow_unicode=True), encoding="utf-8")
        cast.append(cid)
    world["cast"] = cast
    world_id = f"harbor{size}"
    (worlds / f"{world_id}.yaml").write_text(yaml.safe_dump(world, allow_unicode=True), encoding="utf-8")
    return characters, worlds, world_id


async def _store_scenes(app: App, count: int, messages: int = 30) -> None:
    """``count`` other scenes, each in its own server with ``messages`` lines of history.

    Their lines are stored already embedded, as on a bot that has run for months: the figure is what
    the stored scenes cost a live one, not the one-off catch-up after an upgrade (30,000 lines at
    ~30 ms each would keep the background embedder busy for a quarter of an hour). The vectors are
    random unit vectors of the embedder's width: nothing recalls from these scenes.
    """
    cast = app.library.cast_of("harbor")
    worker = app.engine.embedding_worker
    width = int((await worker.embedder.embed(["width"])).shape[1]) if worker is not None else 0
    rng = np.random.default_rng(3)
    for i in range(count):
        key = SceneKey(f"stored-g{i}", "roleplay")
        scene = await app.engine.open_scene(key, "harbor")
        lines = []
        for j in range(messages):
            if j % 2 == 0:
                lines.append(NewMessage(kind="user", speaker="Ann", text=PLAYER_LINES[(i + j) % len(PLAYER_LINES)],
                                        location=scene.user_location, heard_by=tuple(c.id for c in cast)))
            else:
                speaker = cast[j % len(cast)]
                lines.append(NewMessage(kind="npc", speaker=speaker.name, character_id=speaker.id,
                                        text=f"*nods* Line {j} of an old story in scene {i}.", location=scene.user_location,
                                        heard_by=tuple(c.id for c in cast)))
        _, ids = await app.store.record_turn(scene, TurnCommit(messages=lines, join=tuple(c.id for c in cast)))
        if worker is not None:
            vectors = rng.standard_normal((len(ids), width)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            await app.store.store_vectors(worker.embedder.name, list(zip(ids, vectors, strict=True)))


# -- the floor -------------------------------------------------------------------------------------


async def _floor(where: BenchDatabases, server: ModelServerProcess, samples: int) -> dict[str, Any]:
    """One store transaction (SQLite WAL with the store's pragmas, or a PostgreSQL transaction on the pool)
    of one insert, and one SDK round trip, same run."""
    from bot.store.database import open_database

    walls, cpus = [], []
    settings = await where.fresh("floor")
    db = await open_database(settings.get("DATABASE_URL") or settings["DATABASE_PATH"])
    try:
        # SQLite's rowid alias (INTEGER PRIMARY KEY), PostgreSQL's BIGINT: each engine's cheapest keyed insert.
        await db.execute(f"CREATE TABLE t (id {'BIGINT' if where.url else 'INTEGER'} PRIMARY KEY, body TEXT)")
        for i in range(samples + 10):
            wall, cpu = time.perf_counter(), time.thread_time()
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t (id, body) VALUES (?, ?)", (i, f"line {i}"))
            if i >= 10:
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.thread_time() - cpu) * 1000)
    finally:
        await db.close()
    store_figures = {"engine": where.engine, "wall_ms_p50": _r(percentile(walls, 50)), "loop_cpu_ms_p50": _r(percentile(cpus, 50))}

    model = build_model(Settings(LLM_BASE_URL=server.base_url, LLM_API_KEY="bench", LLM_MODEL="fake-model").require_model())
    messages = [ChatMessage("system", "You are Mira."), ChatMessage("user", "Hello there.", name="Ann")]
    walls, cpus = [], []
    try:
        for i in range(samples + 10):
            wall, cpu = time.perf_counter(), time.thread_time()
            await model.complete(messages, ChatOptions(max_tokens=200))
            if i >= 10:
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.thread_time() - cpu) * 1000)
    finally:
        await model.aclose()  # type: ignore[attr-defined]
    sdk = {"wall_ms_p50": _r(percentile(walls, 50)), "loop_cpu_ms_p50": _r(percentile(cpus, 50))}
    return {
        "samples": samples,
        "store_transaction": store_figures,
        "sdk_round_trip": sdk,
        "wall_ms": _r(store_figures["wall_ms_p50"] + sdk["wall_ms_p50"]),
        "loop_cpu_ms": _r(store_figures["loop_cpu_ms_p50"] + sdk["loop_cpu_ms_p50"]),
    }


# -- the whole run ---------------------------------------------------------------------------------


async def _run(plan: Plan, characters: Path, worlds: Path, where: BenchDatabases, server: ModelServerProcess) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # 1. Start: the first reply of a freshly opened app, then the median of the same scene's next ones.
    started = time.perf_counter()
    async with _app(where, "start", server, characters, worlds) as app:
        ready = time.perf_counter()
        task, _ = meter.start_metered(
            _play_scene(app, SceneKey("start-g", "roleplay"), "harbor", HARBOR_TRIO, _script(1, 31), warmup=0)
        )
        run = await task
    first, rest = run.samples[0], run.samples[1:]
    median = percentile([s.wall for s in rest], 50)
    out["start"] = {
        "open_app_s": _r(ready - started),
        "first_reply_wall_ms": _r(first.wall),
        "first_reply_loop_cpu_ms": _r(first.cpu),
        "median_wall_ms": _r(median),
        "first_over_median": _r(first.wall / median) if median else 0.0,
        "median_loop_cpu_ms": _r(percentile([s.cpu for s in rest], 50)),
        "first_over_median_cpu": _r(first.cpu / percentile([s.cpu for s in rest], 50)) if rest else 0.0,
    }
    # 2. The floor, with the SDK and the loop warm.
    out["floor"] = await _floor(where, server, plan.floor_samples)
    # 3. Concurrency: 1, 10, 100 scenes in one process. The single scene plays on to the age windows.
    out["concurrency"] = []
    for scenes, lines in plan.concurrency:
        async with _app(where, f"c{scenes}", server, characters, worlds) as app:
            out["concurrency"].append(await _scenes(app, scenes, lines))
    # The single scene again with memory by words only: at machine speed one scene makes lines faster than
    # the bundled embedder takes them in, and turns wait for it (see bot.engine.recollection); this row is
    # the engine without that model.
    scenes, lines = plan.concurrency[0]
    async with _app(where, "words", server, characters, worlds, embeddings="off") as app:
        out["words_only"] = [await _scenes(app, scenes, lines)]
    # 4. Growth: scene age (one scene played to the last window), cast size, stored scenes.
    growth: dict[str, Any] = {}
    async with _app(where, "age", server, characters, worlds) as app:
        task, _ = meter.start_metered(
            _play_scene(app, SceneKey("age-g", "roleplay"), "harbor", HARBOR_TRIO, _script(2, max(plan.age_turns)), warmup=WARMUP_LINES)
        )
        run = await task
    growth["turn"] = [
        {"turn": t, "from": max(t - plan.age_window, WARMUP_LINES) + 1, **_figures([s for s in run.samples if t - plan.age_window <= s.line < t])}
        for t in plan.age_turns
    ]
    big_chars, big_worlds, big_world = _big_cast(where.tmp / "cast30", characters, worlds, 30)
    growth["cast"] = []
    for label, size in (("3 of 30", 3), ("30 of 30", 30)):
        async with _app(where, f"cast{size}", server, big_chars, big_worlds) as app:
            summon = [c.name for c in app.library.cast_of(big_world)][:size] if size > 3 else list(HARBOR_TRIO)
            fig = await _scenes(app, 1, plan.cast_lines, world_id=big_world, summon=summon, warmup=WARMUP_LINES)
            growth["cast"].append({"world_cast": 30, "scene_cast": size, "label": label, **fig})
    growth["stored_scenes"] = []
    for stored in (1, plan.stored_scenes):
        async with _app(where, f"stored{stored}", server, characters, worlds) as app:
            await _store_scenes(app, stored - 1)
            fig = await _scenes(app, 1, plan.stored_lines)
            growth["stored_scenes"].append({"stored_scenes": stored, **fig})
    out["growth"] = growth
    return out


def run_engine_bench(
    *, characters_dir: Path, worlds_dir: Path, quick: bool = False, play: bool = True, database_url: str | None = None
) -> dict[str, Any]:
    """Run every section (on a metered event loop) and return the figures, goals included; with
    ``database_url``, every section's store (and the ``play`` subprocess's) is a fresh PostgreSQL database."""
    from bot.bench.playpath import run_play_bench

    plan = Plan.quick() if quick else Plan.full()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ensemble-bench-") as tmp_name, ModelServerProcess() as server:
        server.warm()
        tmp = Path(tmp_name)
        where = BenchDatabases(tmp, database_url)
        try:
            figures: dict[str, Any] = {
                "benchmark": "engine",
                "quick": quick,
                "machine": {
                    "cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                    "database": asyncio.run(where.version()),
                },
                "load_before": [round(x, 2) for x in load_before],
            }
            figures.update(meter.run(_run(plan, characters_dir, worlds_dir, where, server)))
            if play:
                play_db = asyncio.run(where.fresh("play"))
                figures["play"] = run_play_bench(
                    lines=plan.play_lines, base_url=server.base_url, tmp=tmp, characters_dir=characters_dir, worlds_dir=worlds_dir,
                    database_url=play_db.get("DATABASE_URL"),
                )
                # The same script with memory by words only: what the bot costs without the local
                # embedding model (an operator with an embeddings endpoint pays about this much).
                play_db = asyncio.run(where.fresh("play_words"))
                figures["play_words_only"] = run_play_bench(
                    lines=plan.play_lines, base_url=server.base_url, tmp=tmp, characters_dir=characters_dir, worlds_dir=worlds_dir,
                    database_url=play_db.get("DATABASE_URL"), embeddings="off", name="play_words",
                )
        finally:
            asyncio.run(where.drop_all())
        figures["model_server_cpu_ms_per_request"] = server.cpu_ms_per_request()
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    _ratios(figures)
    figures["goals"] = goals(figures)
    return figures


def _ratios(figures: dict[str, Any]) -> None:
    """Every reply figure as a multiple of the floor (CPU to the floor's CPU, times to its wall time)."""
    floor = figures["floor"]
    rows = [*figures["concurrency"], *figures.get("words_only", []), *figures["growth"]["turn"], *figures["growth"]["cast"],
            *figures["growth"]["stored_scenes"]]
    for row in rows:
        row["x_floor"] = {
            "loop_cpu_p50": _ratio(row["loop_cpu_ms"]["p50"], floor["loop_cpu_ms"]),
            "overhead_p50": _ratio(row["overhead_ms"]["p50"], floor["wall_ms"]),
            "overhead_p99": _ratio(row["overhead_ms"]["p99"], floor["wall_ms"]),
        }


def _ratio(value: float, base: float) -> float:
    return round(value / base, 2) if base else 0.0


def goals(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals against this run's figures."""
    by_scenes = {row["scenes"]: row for row in figures["concurrency"]}
    one = by_scenes[min(by_scenes)]
    most = by_scenes[max(by_scenes)]
    turns = figures["growth"]["turn"]
    early, late = turns[0]["loop_cpu_ms"]["p50"], turns[-1]["loop_cpu_ms"]["p50"]
    rows = [
        ("engine loop CPU per reply p50, 1 scene", "<= 5 ms", one["loop_cpu_ms"]["p50"], one["loop_cpu_ms"]["p50"] <= 5),
        ("overhead per reply p99, 1 scene", "<= 10 ms", one["overhead_ms"]["p99"], one["overhead_ms"]["p99"] <= 10),
        (f"replies per second, {most['scenes']} scenes", ">= 200", most["replies_per_s"], most["replies_per_s"] >= 200),
        (f"loop CPU p50, turn {turns[-1]['turn']} / turn {turns[0]['turn']}", "<= 1.2", _ratio(late, early),
         early > 0 and late > 0 and late / early <= 1.2),
        ("first reply / median reply (wall)", "<= 3", figures["start"]["first_over_median"], figures["start"]["first_over_median"] <= 3),
        ("first reply / median reply (loop CPU)", "<= 3", figures["start"]["first_over_median_cpu"],
         figures["start"]["first_over_median_cpu"] <= 3),
    ]
    if "play" in figures:
        cpu = figures["play"]["process_cpu_ms_per_reply"]
        rows.append(("play: bot process CPU per NPC reply", "<= 5 ms", cpu, cpu <= 5))
    if "play_words_only" in figures:
        cpu = figures["play_words_only"]["process_cpu_ms_per_reply"]
        rows.append(("play, memory by words only (EMBEDDINGS=off): bot process CPU per NPC reply", "<= 5 ms", cpu, cpu <= 5))
    return [{"goal": g, "target": t, "value": v, "met": bool(m)} for g, t, v, m in rows]


def report(figures: dict[str, Any], json_path: str | None) -> None:
    """Print the tables; write the JSON when asked."""
    print(f"bench engine{' (quick)' if figures['quick'] else ''}: load before {figures['load_before']}, after {figures['load_after']}, "
          f"{figures['machine']['cpus']} CPUs, {figures['machine']['database']}")
    start, floor = figures["start"], figures["floor"]
    print_table("floor (p50)", [
        (f"{floor['store_transaction']['engine']} transaction", f"{floor['store_transaction']['wall_ms_p50']:.3f} ms wall, "
                                                                  f"{floor['store_transaction']['loop_cpu_ms_p50']:.3f} ms loop CPU"),
        ("SDK round trip", f"{floor['sdk_round_trip']['wall_ms_p50']:.3f} ms wall, {floor['sdk_round_trip']['loop_cpu_ms_p50']:.3f} ms loop CPU"),
        ("model server CPU per request", f"{figures['model_server_cpu_ms_per_request']:.3f} ms (other process)"),
    ])
    print_table("start", [
        ("open_app", f"{start['open_app_s']:.2f} s"),
        ("first reply", f"{start['first_reply_wall_ms']:.1f} ms wall ({start['first_over_median']:.2f}x the median {start['median_wall_ms']:.1f} ms), "
                        f"{start['first_reply_loop_cpu_ms']:.1f} ms loop CPU ({start['first_over_median_cpu']:.2f}x)"),
    ])
    header = ("", "replies", "loop CPU p50", "p99", "overhead p50", "p99", "queued p99", "calls/reply", "proc CPU/reply", "embedder CPU/reply", "replies/s")

    def row(label: str, f: dict[str, Any]) -> tuple[str, ...]:
        return (
            label, str(f["samples"]), f"{f['loop_cpu_ms']['p50']:.2f}", f"{f['loop_cpu_ms']['p99']:.2f}",
            f"{f['overhead_ms']['p50']:.2f}", f"{f['overhead_ms']['p99']:.2f}", f"{f['queued_ms']['p99']:.2f}",
            f"{f['model_calls_per_reply']:.2f}", f"{f.get('process_cpu_ms_per_reply', 0):.2f}",
            f"{f.get('embedder_cpu_ms_per_reply', 0):.2f}", f"{f.get('replies_per_s', 0):.1f}",
        )

    rows = [row(f"{f['scenes']} scene(s)", f) for f in figures["concurrency"]]
    rows += [row(f"{f['scenes']} scene(s), EMBEDDINGS=off", f) for f in figures.get("words_only", [])]
    rows += [row(f"turn {f['turn']}", f) for f in figures["growth"]["turn"]]
    rows += [row(f"cast {f['label']}", f) for f in figures["growth"]["cast"]]
    rows += [row(f"{f['stored_scenes']} stored scenes", f) for f in figures["growth"]["stored_scenes"]]
    print_grid("per NPC reply (ms)", header, rows)
    for key, title in (("play", "play"), ("play_words_only", "play, EMBEDDINGS=off")):
        if key not in figures:
            continue
        p = figures[key]
        print_table(f"{title}: {p['lines']} scripted lines, 3 characters, server in another process", [
            ("NPC replies", str(p["replies"])),
            ("bot process CPU per NPC reply", f"{p['process_cpu_ms_per_reply']:.2f} ms"),
            *[(f"  lines {w['from']}-{w['to']}", f"{w['process_cpu_ms_per_reply']:.2f} ms ({w['replies']} replies)") for w in p["windows"]],
            ("start-up CPU (excluded)", f"{p['startup_cpu_s']:.2f} s"),
        ])
    print_grid("goals", ("goal", "target", "value", "met"), [(g["goal"], g["target"], f"{g['value']}", "yes" if g["met"] else "NO") for g in figures["goals"]])
    if json_path:
        write_json(json_path, figures)
        Path(json_path).with_suffix(".md").write_text(markdown(figures), encoding="utf-8")
        print(f"figures written to {json_path} (README table: {Path(json_path).with_suffix('.md')})")


def markdown(figures: dict[str, Any]) -> str:
    """The README's tables, straight from the figures (so the README quotes only what a run produced)."""
    floor, start = figures["floor"], figures["start"]
    lines = [
        f"Load average {figures['load_before']} before, {figures['load_after']} after, on {figures['machine']['cpus']} CPUs "
        f"(Python {figures['machine']['python']}, {figures['machine']['database']}).",
        "",
        "| per NPC reply | replies | loop CPU p50 / p99 (ms) | overhead p50 / p99 (ms) | queued p99 (ms) | x floor (CPU, overhead p50) "
        "| model calls | process CPU (ms) | of which embedding (ms) | replies/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(label: str, f: dict[str, Any], throughput: bool = True) -> str:
        cpu, over = f["loop_cpu_ms"], f["overhead_ms"]
        rate = f"{f['replies_per_s']:.1f}" if throughput else "—"
        proc = f"{f['process_cpu_ms_per_reply']:.1f}" if throughput else "—"
        embedding = f"{f['embedder_cpu_ms_per_reply']:.1f}" if throughput and "embedder_cpu_ms_per_reply" in f else "—"
        return (f"| {label} | {f['samples']} | {cpu['p50']:.1f} / {cpu['p99']:.1f} | {over['p50']:.1f} / {over['p99']:.1f} | "
                f"{f['queued_ms']['p99']:.1f} | {f['x_floor']['loop_cpu_p50']:.1f} / {f['x_floor']['overhead_p50']:.1f} | "
                f"{f['model_calls_per_reply']:.2f} | {proc} | {embedding} | {rate} |")

    lines += [row(f"{f['scenes']} concurrent scene{'s' if f['scenes'] > 1 else ''} ({f['lines'] // f['scenes']} lines each)", f)
              for f in figures["concurrency"]]
    lines += [row(f"{f['scenes']} scene, memory by words only (`EMBEDDINGS=off`)", f) for f in figures.get("words_only", [])]
    lines += [row(f"scene age: player lines {f.get('from', '?')}–{f['turn']}", f, throughput=False) for f in figures["growth"]["turn"]]
    lines += [row(f"cast: {f['scene_cast']} in the scene, 30 in the world", f) for f in figures["growth"]["cast"]]
    lines += [row(f"{f['stored_scenes']:,} stored scene{'s' if f['stored_scenes'] > 1 else ''}", f) for f in figures["growth"]["stored_scenes"]]
    lines += [
        "",
        f"x floor: loop CPU over the floor's loop CPU (one SDK round trip plus one {floor['store_transaction']['engine']} transaction), "
        "overhead over the floor's wall time.",
        "",
        f"Floor in the same run (p50): one {floor['store_transaction']['engine']} transaction {floor['store_transaction']['wall_ms_p50']:.2f} ms wall; "
        f"one SDK round trip {floor['sdk_round_trip']['wall_ms_p50']:.2f} ms wall, {floor['sdk_round_trip']['loop_cpu_ms_p50']:.2f} ms "
        f"loop CPU (the model server spent {figures['model_server_cpu_ms_per_request']:.2f} ms CPU per request in its own process). "
        f"First reply after start: {start['first_reply_wall_ms']:.0f} ms wall, {start['first_over_median']:.1f}x the median "
        f"({start['median_wall_ms']:.0f} ms); {start['first_reply_loop_cpu_ms']:.1f} ms loop CPU, {start['first_over_median_cpu']:.1f}x the "
        f"median ({start['median_loop_cpu_ms']:.1f} ms).",
    ]
    for key, how in (("play", "memory by meaning with the bundled embedder (the default)"), ("play_words_only", "`EMBEDDINGS=off`")):
        if key not in figures:
            continue
        p = figures[key]
        windows = ", ".join(f"{w['process_cpu_ms_per_reply']:.1f} ms in lines {w['from']}–{w['to']}" for w in p["windows"])
        lines += ["", (
            f"`play` path, {how}: {p['lines']:,} scripted lines with {p['characters']} characters, {p['replies']:,} NPC replies: "
            f"bot process CPU {p['process_cpu_ms_per_reply']:.1f} ms per NPC reply ({windows}); start-up {p['startup_cpu_s']:.1f} s CPU, "
            "not counted."
        )]
    lines += ["", "| goal | target | this run | met |", "| --- | --- | --- | --- |"]
    lines += [f"| {g['goal']} | {g['target']} | {g['value']} | {'yes' if g['met'] else 'no'} |" for g in figures["goals"]]
    return "\n".join(lines) + "\n"
