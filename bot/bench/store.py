"""``bench store``: storage that stays fast for years of play.

Real parts: SQLite on disk (WAL), the real store and engine; the model is the in-process scripted one,
since only time spent in the store is measured. Histories are written through the store's own turn
commits (the same statements a played turn runs: messages, facts, swipes, events, witnesses,
checkpoints, usage), not copied in bulk, so the figures describe the schema and queries as they are.

Figures: a reset of a server with a 4,000-turn scene, a rewind of 50 turns and of most of a 4,000-turn
scene (goal: each under 200 ms), and the store time per reply (reads and the commit) at turn 10, at
turn 1,000, and at turn 10 with 1,000 other scenes stored (goal: late/early and crowded/early <= 1.2).
"""

from __future__ import annotations

import inspect
import itertools
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.bench.report import percentile, print_table, write_json
from bot.content.loader import Library, load_content
from bot.core.ports import FakeClock
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine, facts_of
from bot.store import Store
from bot.store.records import NewEvent, NewMessage, SceneRow, TurnCommit, UsageRecord
from bot.testing.scripted_model import ScriptedModel

GOAL_MS = 200.0
GOAL_RATIO = 1.2
REPLIES = (
    "The fog is thick tonight; mind the weed on the steps.",
    "I promise I will meet you at the quay at dawn.",
    "My secret: the Gull Light was lit by someone who should be dead.",
    "Ask the harbourmaster, not me. He keeps the ledgers.",
    "*looks out to sea* The ebb is turning. We have an hour, no more.",
)


class TimedStore:
    """The store with every awaited call timed: what one reply costs in the store, reads and commit."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.seconds = 0.0
        self.calls = 0
        self.by_method: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds += elapsed
                self.calls += 1
                self.by_method[name] = self.by_method.get(name, 0.0) + elapsed

        return timed


def _library(characters_dir: Path, worlds_dir: Path, world_id: str) -> Library:
    """The shipped content, the world tuned so one line gets exactly one reply (no chains, no summaries)."""
    library = load_content(characters_dir, worlds_dir)
    world = library.worlds[world_id]
    settings = world.settings.model_copy(update={"chain_cap": 0, "max_speakers_per_line": 1, "summary_every": 10**9})
    library.worlds[world_id] = world.model_copy(update={"settings": settings})
    return library


async def _history(engine: SceneEngine, key: SceneKey, world_id: str, turns: int, rng: random.Random) -> SceneRow:
    """A scene of ``turns`` played turns, written by the store's own turn commits (batched in transactions)."""
    scene = await engine.open_scene(key, world_id)
    cast = engine.library.cast_of(world_id, key.guild_id)
    for character in cast:
        await engine.summon(key, character.name)
    scene = await engine.require_scene(key)
    members = tuple(c.id for c in cast)
    commits = []
    for turn in range(turns):
        speaker = cast[turn % len(cast)]
        user_text = f"{speaker.name}, what news from the boats? (line {turn})"
        user = NewMessage(kind="user", speaker="Ann", text=user_text, author_id="u", location=scene.user_location, heard_by=members,
                          facts=facts_of("Ann", user_text, members))
        reply = REPLIES[rng.randrange(len(REPLIES))]
        npc = NewMessage(kind="npc", speaker=speaker.name, text=reply, character_id=speaker.id, location=scene.user_location,
                         heard_by=members, facts=facts_of(speaker.name, reply, members))
        events = [
            NewEvent("schedule", None, {"context": "line", "speakers": [speaker.id], "scores": {speaker.id: 5.0}, "reasons": {}, "note": ""}),
            NewEvent("mood", speaker.id, {"label": speaker.mood.label, "intensity": round(0.3 + 0.5 * rng.random(), 3)}, members),
        ]
        commits.append(TurnCommit(messages=[user, npc], events=events, usage=[UsageRecord("npc", "bench", 900, 40, 600, 1.0)]))
    for batch in range(0, len(commits), 500):
        await engine.store.record_turns(scene, commits[batch : batch + 500])
    return scene


async def _timed(action: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one action (CPU: the whole process, SQLite's thread included; on a
    shared machine it says what the work costs, the wall time what a player waits)."""
    started, cpu = time.perf_counter(), time.process_time()
    await action()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


async def _reset_and_rewinds(directory: Path, library: Library, world_id: str, turns: int, rng: random.Random) -> dict[str, float]:
    store = await Store.open(directory / "rewind.db", clock=FakeClock())
    try:
        engine = SceneEngine(store=store, model=ScriptedModel(), library=library, clock=FakeClock(), rng=random.Random(1))
        rewound, reset = SceneKey("rewind", "long"), SceneKey("reset", "long")
        await _history(engine, rewound, world_id, turns, rng)
        await _history(engine, reset, world_id, turns, rng)
        await engine.setup_server(reset.guild_id, world_id)
        most = turns - 100
        figures: dict[str, float] = {"rewind_most_turns": most}
        for name, action in (
            ("rewind_50", lambda: engine.rewind(rewound, 50)),
            ("rewind_most", lambda: engine.rewind(rewound, most)),
            ("reset", lambda: engine.reset_server(reset.guild_id)),
        ):
            figures[f"{name}_ms"], figures[f"{name}_cpu_ms"] = await _timed(action)
        return figures
    finally:
        await store.close()


async def _per_reply(path: Path, library: Library, world_id: str, *, history: int, others: int, replies: int, rng: random.Random) -> dict[str, float]:
    """Store time per reply in a scene with ``history`` turns, with ``others`` other scenes of 10 turns stored."""
    store = await Store.open(path, clock=FakeClock())
    try:
        clock = FakeClock()
        builder = SceneEngine(store=store, model=ScriptedModel(), library=library, clock=clock, rng=random.Random(2))
        for index in range(others):
            await _history(builder, SceneKey("bench", f"other-{index}"), world_id, 10, rng)
        key = SceneKey("bench", "measured")
        await _history(builder, key, world_id, history, rng)
        timed = TimedStore(store)
        replies_made = itertools.cycle(REPLIES)
        model = ScriptedModel(responder=lambda messages, options: next(replies_made))
        engine = SceneEngine(store=timed, model=model, library=library, clock=clock, rng=random.Random(3))  # type: ignore[arg-type]
        cast = library.cast_of(world_id)
        samples, calls = [], []
        timed.by_method.clear()
        for turn in range(replies):
            timed.seconds, timed.calls = 0.0, 0
            outcome = await engine.handle(InboundLine(key, "u", "Ann", f"{cast[turn % len(cast)].name}, and then? (reply {turn})"))
            if len(outcome.utterances) == 1:
                samples.append(timed.seconds * 1000)
                calls.append(timed.calls)
            clock.advance(20)
        await engine.drain()
        per_method = {name: round(total * 1000 / max(1, len(samples)), 3) for name, total in sorted(timed.by_method.items(), key=lambda kv: -kv[1])}
        return {
            "p50_ms": percentile(samples, 50), "p90_ms": percentile(samples, 90), "calls": percentile(calls, 50),
            "replies": len(samples), "by_method_ms": per_method,
        }
    finally:
        await store.close()


async def run_store_bench(
    *, turns: int = 4000, late: int = 1000, others: int = 1000, replies: int = 40, world_id: str = "harbor",
    characters_dir: Path = Path("characters"), worlds_dir: Path = Path("worlds"), seed: int = 5,
) -> dict[str, Any]:
    library = _library(characters_dir, worlds_dir, world_id)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        big = await _reset_and_rewinds(directory, library, world_id, turns, rng)
        early = await _per_reply(directory / "early.db", library, world_id, history=10, others=0, replies=replies, rng=rng)
        later = await _per_reply(directory / "late.db", library, world_id, history=late, others=0, replies=replies, rng=rng)
        crowded = await _per_reply(directory / "crowded.db", library, world_id, history=10, others=others, replies=replies, rng=rng)
    most = int(big["rewind_most_turns"])
    figures: dict[str, Any] = {
        "world": world_id,
        "scene_turns": turns,
        "reset_ms": round(big["reset_ms"], 2),
        "reset_cpu_ms": round(big["reset_cpu_ms"], 2),
        "rewind_50_ms": round(big["rewind_50_ms"], 2),
        "rewind_50_cpu_ms": round(big["rewind_50_cpu_ms"], 2),
        "rewind_most_turns": most,
        "rewind_most_ms": round(big["rewind_most_ms"], 2),
        "rewind_most_cpu_ms": round(big["rewind_most_cpu_ms"], 2),
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "per_reply_store_ms_p50": {"turn_10": round(early["p50_ms"], 3), f"turn_{late}": round(later["p50_ms"], 3),
                                   f"turn_10_with_{others}_scenes": round(crowded["p50_ms"], 3)},
        "per_reply_store_calls": {"turn_10": early["calls"], f"turn_{late}": later["calls"], f"turn_10_with_{others}_scenes": crowded["calls"]},
        "late_over_early": round(later["p50_ms"] / early["p50_ms"], 3) if early["p50_ms"] else None,
        "crowded_over_early": round(crowded["p50_ms"] / early["p50_ms"], 3) if early["p50_ms"] else None,
        "replies_measured": replies,
        "per_reply_store_ms_by_method": {"turn_10": early["by_method_ms"], f"turn_{late}": later["by_method_ms"],
                                         f"turn_10_with_{others}_scenes": crowded["by_method_ms"]},
    }
    figures["goals"] = {
        "reset_and_rewinds_under_200ms": max(figures["reset_ms"], figures["rewind_50_ms"], figures["rewind_most_ms"]) < GOAL_MS,
        "per_reply_flat_within_1.2": all(r is not None and r <= GOAL_RATIO for r in (figures["late_over_early"], figures["crowded_over_early"])),
    }
    return figures


def report(figures: dict[str, Any], json_path: str | None) -> None:
    per = figures["per_reply_store_ms_p50"]
    names = list(per)
    print_table(
        f"bench store: {figures['world']}, scenes of {figures['scene_turns']} turns",
        [
            (f"reset (a {figures['scene_turns']}-turn scene)", f"{figures['reset_ms']:.1f} ms (CPU {figures['reset_cpu_ms']:.1f} ms)"),
            ("rewind 50 turns", f"{figures['rewind_50_ms']:.1f} ms (CPU {figures['rewind_50_cpu_ms']:.1f} ms)"),
            (f"rewind {figures['rewind_most_turns']} turns", f"{figures['rewind_most_ms']:.1f} ms (CPU {figures['rewind_most_cpu_ms']:.1f} ms)"),
            (f"store per reply, {names[0].replace('_', ' ')}", f"{per[names[0]]:.2f} ms"),
            (f"store per reply, {names[1].replace('_', ' ')}", f"{per[names[1]]:.2f} ms"),
            (f"store per reply, {names[2].replace('_', ' ')}", f"{per[names[2]]:.2f} ms"),
            ("late / early", f"{figures['late_over_early']}"),
            ("crowded / early", f"{figures['crowded_over_early']}"),
            ("load average / CPUs", f"{figures['load_average']} / {figures['cpus']}"),
            ("goals met", ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in figures["goals"].items())),
        ],
    )
    if json_path:
        write_json(json_path, figures)
        print(f"figures written to {json_path}")
