"""``bench processes``: replies per second with one and with two bot processes on one shared database.

The scale question is whether a second process adds throughput, so this measures exactly the deployment
the README describes: each bot process is a real ``python`` process that takes its shard's lease
(``SHARD_COUNT``/``SHARD_IDS``, :mod:`bot.shards.runtime`), opens the app with the shard fence checked in
every commit, and plays its own servers' scenes (guild ids chosen so that ``(id >> 22) % count`` is its
shard). The model server is another process (:class:`~bot.bench.server.ModelServerProcess`); the store is
one SQLite file shared by the processes or one PostgreSQL database.

Every process plays the same load (``scenes`` scenes of ``lines`` measured lines after a warm-up), so
with ``n`` processes there is ``n`` times the work: throughput is all replies over the span from the
moment every process is warm (they start together on a signal) to the last reply. CPU is counted per
reply for the bot processes (all their threads), the database server (PostgreSQL's processes, read with
psutil) and the model server, so a reader can see what the machine's cores were spent on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from bot.bench import meter
from bot.bench.engine import HARBOR_TRIO, WARMUP_LINES, BenchDatabases, TimedModel, _scenes, embedder_clock
from bot.bench.report import print_grid, write_json
from bot.bench.server import ModelServerProcess

READY, GO, RESULT = "ready", "go", "result "


def guild_ids(shard: int, shard_count: int, scenes: int) -> list[str]:
    """``scenes`` Discord-shaped server ids that Discord's rule puts on ``shard`` of ``shard_count``."""
    return [str(((k * shard_count + shard) << 22) | (k + 1)) for k in range(scenes)]


# -- one bot process ----------------------------------------------------------------------------------


class _SignalGate:
    """Where the process's scenes wait after their warm-up: when all are warm, one says so on stdout and
    they all go when the parent writes a line (so every process starts measuring at the same moment)."""

    def __init__(self, scenes: int) -> None:
        self._warm = asyncio.Barrier(scenes)
        self._go = asyncio.Event()

    async def wait(self) -> None:
        if await self._warm.wait() == 0:
            print(READY, flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            self._go.set()
        await self._go.wait()


async def _worker(shard: int, shard_count: int, scenes: int, lines: int) -> dict[str, Any]:
    from bot.app import build_model, open_app
    from bot.core.ports import SystemClock
    from bot.settings import Settings
    from bot.shards.plan import ShardPlan
    from bot.shards.runtime import shard_runtime

    settings = Settings(SHARD_COUNT=shard_count, SHARD_IDS=str(shard))
    plan = ShardPlan.of(settings)
    assert plan is not None
    target = settings.database_target()
    model = TimedModel(build_model(settings.require_model()))
    try:
        async with (
            shard_runtime(target, plan, clock=SystemClock()) as shards,
            open_app(settings, model=model, owns_guild=shards.owns_guild, fence=shards.fence_for(target)) as app,
        ):
            with embedder_clock(app):
                figures = await _scenes(
                    app, scenes, lines, summon=HARBOR_TRIO, guilds=guild_ids(shard, shard_count, scenes),
                    gate=_SignalGate(scenes), warmup=WARMUP_LINES,
                )
                await app.engine.drain()
            # Reported while the database connections are open, so the parent can read their CPU; closed
            # when it says so.
            print(RESULT + json.dumps(figures), flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            return figures
    finally:
        await model.aclose()


def _worker_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.processes")
    parser.add_argument("--shard", type=int, required=True)
    parser.add_argument("--shard-count", type=int, required=True)
    parser.add_argument("--scenes", type=int, required=True)
    parser.add_argument("--lines", type=int, required=True)
    args = parser.parse_args(argv)
    from bot.logs import configure_logging

    configure_logging("console", "WARNING")
    meter.run(_worker(args.shard, args.shard_count, args.scenes, args.lines))
    return 0


# -- the parent -------------------------------------------------------------------------------------------


def _postgres_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every PostgreSQL server process on this machine, by pid."""
    out = {}
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("postgres", "postmaster"):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            out[process.pid] = times.user + times.system
    return out


def _cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """What the processes spent between two readings; one started in between counts from zero (a
    connection's backend that ended in between is lost, which makes the figure a floor)."""
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


def _cores_busy(before: Any, after: Any) -> float:
    """How many of the machine's cores were busy on average between two ``psutil.cpu_times()`` readings."""
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0))
    return round((total - idle) / total * (os.cpu_count() or 1), 2) if total > 0 else 0.0


def _run_processes(
    count: int, *, env: dict[str, str], scenes: int, lines: int, database: str,
) -> dict[str, Any]:
    """``count`` bot processes, started together once all are warm; their figures combined."""
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.bench.processes", "--shard", str(i), "--shard-count", str(count),
             "--scenes", str(scenes), "--lines", str(lines)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        for i in range(count)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            banner = child.stdout.readline().strip()
            if banner != READY:
                raise RuntimeError(f"a bot process did not get ready: {banner!r} (exit {child.poll()})")
        db_before = _postgres_cpu() if database == "PostgreSQL" else {}
        machine_before = psutil.cpu_times()
        for child in children:
            assert child.stdin is not None
            child.stdin.write(GO + "\n")
            child.stdin.flush()
        results = []
        for child in children:
            assert child.stdout is not None
            out = child.stdout.readline()
            if not out.startswith(RESULT):
                raise RuntimeError(f"a bot process ended without figures: {out!r} (exit {child.wait(30)})")
            results.append(json.loads(out[len(RESULT):]))
        db_cpu = _cpu_since(db_before, _postgres_cpu()) if database == "PostgreSQL" else 0.0
        busy = _cores_busy(machine_before, psutil.cpu_times())
        for child in children:
            assert child.stdin is not None
            child.stdin.write("done\n")
            child.stdin.flush()
        for child in children:
            if child.wait(120) != 0:
                raise RuntimeError(f"a bot process exited with {child.returncode}")
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    replies = sum(r["replies"] for r in results)
    span = max(r["ended"] for r in results) - min(r["started"] for r in results)
    # Each process's CPU (all its threads) over its own measured span, from its own clock.
    bot_cpu_s = sum(r["process_cpu_ms_per_reply"] * r["replies"] for r in results) / 1000
    return {
        "processes": count,
        "scenes_per_process": scenes,
        "replies": replies,
        "span_s": round(span, 3),
        "replies_per_s": round(replies / span, 1) if span > 0 else 0.0,
        "per_process_replies_per_s": [r["replies_per_s"] for r in results],
        "bot_cpu_ms_per_reply": round(bot_cpu_s * 1000 / replies, 2) if replies else 0.0,
        "embedder_cpu_ms_per_reply": round(
            sum(r["embedder_cpu_ms_per_reply"] * r["replies"] for r in results) / replies, 2) if replies else 0.0,
        "database_cpu_ms_per_reply": round(db_cpu * 1000 / replies, 2) if replies else 0.0,
        "machine_cores_busy": busy,
        "overhead_ms_p50": round(max(r["overhead_ms"]["p50"] for r in results), 2),
        "overhead_ms_p99": round(max(r["overhead_ms"]["p99"] for r in results), 2),
        "queued_ms_p99": round(max(r["queued_ms"]["p99"] for r in results), 2),
    }


def run_process_bench(
    *, characters_dir: Path, worlds_dir: Path, database_url: str | None, counts: Sequence[int] = (1, 2),
    scenes: int = 40, lines: int = 12, embeddings: str = "off",
) -> dict[str, Any]:
    """For each process count, a fresh database and that many bot processes; the combined figures."""
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ensemble-bench-processes-") as tmp_name, ModelServerProcess() as server:
        server.warm()
        where = BenchDatabases(Path(tmp_name), database_url)
        try:
            for count in counts:
                fresh = asyncio.run(where.fresh(f"processes{count}"))
                env = dict(
                    os.environ, LLM_BASE_URL=server.base_url, LLM_API_KEY="bench", LLM_MODEL="fake-model", RANDOM_SEED="7",
                    CHARACTERS_DIR=str(characters_dir), WORLDS_DIR=str(worlds_dir), EMBEDDINGS=embeddings,
                    USER_LINES_PER_MINUTE="0", MEANWHILE="false", LOG_LEVEL="WARNING",
                    DATABASE_PATH=str(fresh["DATABASE_PATH"]),
                )
                env.pop("DATABASE_URL", None)
                if fresh.get("DATABASE_URL"):
                    env["DATABASE_URL"] = fresh["DATABASE_URL"]
                started = time.perf_counter()
                row = _run_processes(count, env=env, scenes=scenes, lines=lines, database=where.engine.split()[0])
                row["wall_s"] = round(time.perf_counter() - started, 1)
                rows.append(row)
            version = asyncio.run(where.version())
        finally:
            asyncio.run(where.drop_all())
        model_cpu = server.cpu_ms_per_request()
    one = next((r for r in rows if r["processes"] == 1), None)
    for row in rows:
        row["x_one_process"] = round(row["replies_per_s"] / one["replies_per_s"], 2) if one and one["replies_per_s"] else 0.0
    return {
        "benchmark": "processes",
        "machine": {"cpus": os.cpu_count(), "database": version},
        "embeddings": embeddings,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "model_server_cpu_ms_per_request": model_cpu,
        "rows": rows,
    }


def report(figures: dict[str, Any], json_path: str | None) -> None:
    print(f"bench processes: {figures['machine']['database']}, {figures['machine']['cpus']} CPUs, EMBEDDINGS={figures['embeddings']}, "
          f"load before {figures['load_before']}, after {figures['load_after']}")
    header = ("processes", "scenes each", "replies", "replies/s", "x 1 process", "bot CPU/reply", "of which embedding",
              "database CPU/reply", "cores busy", "overhead p50", "p99", "queued p99")
    rows = [
        (str(r["processes"]), str(r["scenes_per_process"]), str(r["replies"]), f"{r['replies_per_s']:.1f}", f"{r['x_one_process']:.2f}",
         f"{r['bot_cpu_ms_per_reply']:.1f} ms", f"{r['embedder_cpu_ms_per_reply']:.1f} ms", f"{r['database_cpu_ms_per_reply']:.1f} ms",
         f"{r['machine_cores_busy']:.2f}", f"{r['overhead_ms_p50']:.1f} ms", f"{r['overhead_ms_p99']:.1f} ms", f"{r['queued_ms_p99']:.1f} ms")
        for r in figures["rows"]
    ]
    print_grid(f"model server in another process: {figures['model_server_cpu_ms_per_request']:.2f} ms CPU per request", header, rows)
    if json_path:
        write_json(json_path, figures)
        Path(json_path).with_suffix(".md").write_text(markdown(figures), encoding="utf-8")
        print(f"figures written to {json_path} (README rows: {Path(json_path).with_suffix('.md')})")


def markdown(figures: dict[str, Any]) -> str:
    """The README table for this run (one store; the rows of a second run append under the same header)."""
    store = figures["machine"]["database"].split(" (")[0]
    rows = [
        "| store | processes | replies | replies/s | x one process | bot CPU per reply (ms) | database CPU per reply (ms) "
        f"| cores busy (of {figures['machine']['cpus']}) | overhead p50 / p99 (ms) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in figures["rows"]:
        database = f"{r['database_cpu_ms_per_reply']:.1f}" if store.startswith("PostgreSQL") else "— (in process)"
        rows.append(
            f"| {store} | {r['processes']} | {r['replies']:,} | {r['replies_per_s']:.1f} | {r['x_one_process']:.2f} "
            f"| {r['bot_cpu_ms_per_reply']:.1f} | {database} | {r['machine_cores_busy']:.2f} "
            f"| {r['overhead_ms_p50']:.0f} / {r['overhead_ms_p99']:.0f} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    raise SystemExit(_worker_main(sys.argv[1:]))
