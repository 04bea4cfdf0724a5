"""``bench engine``: N scenes x M turns through the whole engine, timing what is not the model.

Real parts: SQLite on disk, the real openai SDK over loopback, a zero-latency local model server.
Engine overhead per turn = wall time of the turn minus the time spent inside model calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from bot.bench.report import peak_rss_mb, percentile, print_table, write_json
from bot.content.loader import load_content
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.ports import ChatMessage, ChatModel, ChatOptions, ChatResult, FakeClock
from bot.engine.scene import SceneEngine
from bot.model.openai_chat import OpenAIChatModel
from bot.store import Store
from bot.testing.openai_server import OpenAIServer

_model_seconds: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("model_seconds", default=None)


class TimedModel:
    """Wraps a ChatModel and adds each call's duration to the calling task's tally."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        started = time.perf_counter()
        try:
            return await self.inner.complete(messages, options)
        finally:
            tally = _model_seconds.get()
            if tally is not None:
                tally.append(time.perf_counter() - started)

    def stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> AsyncIterator[str]:
        return self.inner.stream(messages, options)


async def _scene(engine: SceneEngine, index: int, world_id: str, turns: int, rng: random.Random) -> list[tuple[float, float]]:
    key = SceneKey("bench", f"scene-{index}")
    await engine.open_scene(key, world_id)
    cast = engine.library.cast_of(world_id)
    for character in cast:
        await engine.summon(key, character.name)
    samples = []
    for turn in range(turns):
        addressee = cast[rng.randrange(len(cast))].name
        text = f"{addressee}, what do you make of the fog tonight? (line {turn})"
        tally: list[float] = []
        token = _model_seconds.set(tally)
        started = time.perf_counter()
        await engine.handle(InboundLine(key, "bench-user", "Traveller", text, platform_message_id=f"{index}-{turn}"))
        wall = time.perf_counter() - started
        _model_seconds.reset(token)
        samples.append((wall, sum(tally)))
    return samples


async def run_engine_bench(
    *, scenes: int, turns: int, world_id: str, characters_dir: Path, worlds_dir: Path
) -> dict[str, Any]:
    """Run the benchmark and return its figures."""
    library = load_content(characters_dir, worlds_dir)
    with tempfile.TemporaryDirectory(prefix="ensemble-bench-") as tmp:
        async with OpenAIServer() as server:
            store = await Store.open(Path(tmp) / "bench.db", clock=FakeClock())
            model = OpenAIChatModel(base_url=server.base_url, api_key="bench", model="fake-model")
            engine = SceneEngine(
                store=store, model=TimedModel(model), library=library, clock=FakeClock(), rng=random.Random(7)
            )
            started = time.perf_counter()
            results = await asyncio.gather(
                *(_scene(engine, i, world_id, turns, random.Random(i)) for i in range(scenes))
            )
            elapsed = time.perf_counter() - started
            await store.close()
    samples = [s for scene in results for s in scene]
    overhead_ms = [(wall - model) * 1000 for wall, model in samples]
    wall_ms = [wall * 1000 for wall, _ in samples]
    return {
        "benchmark": "engine",
        "scenes": scenes,
        "turns_per_scene": turns,
        "world": world_id,
        "turns": len(samples),
        "engine_overhead_ms_p50": round(percentile(overhead_ms, 50), 3),
        "engine_overhead_ms_p99": round(percentile(overhead_ms, 99), 3),
        "turn_wall_ms_p50": round(percentile(wall_ms, 50), 3),
        "turn_wall_ms_p99": round(percentile(wall_ms, 99), 3),
        "turns_per_second": round(len(samples) / elapsed, 2) if elapsed else 0.0,
        "elapsed_s": round(elapsed, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def report(figures: dict[str, Any], json_path: str | None) -> None:
    print_table(
        f"bench engine: {figures['scenes']} scenes x {figures['turns_per_scene']} turns ({figures['world']})",
        [
            ("turns", str(figures["turns"])),
            ("engine overhead p50", f"{figures['engine_overhead_ms_p50']:.2f} ms"),
            ("engine overhead p99", f"{figures['engine_overhead_ms_p99']:.2f} ms"),
            ("turn wall time p50", f"{figures['turn_wall_ms_p50']:.2f} ms"),
            ("turns per second", f"{figures['turns_per_second']:.1f}"),
            ("peak RSS", f"{figures['peak_rss_mb']:.1f} MiB"),
        ],
    )
    if json_path:
        write_json(json_path, figures)
        print(f"figures written to {json_path}")
