"""CPU the live guard spends per NPC reply: every detector plus the guard's decision, on labelled replies.

The guard runs on every reply the bot sends, so a detector rule that reads better but costs more makes
every reply slower. This measures that cost alone, with no model call and no I/O: each reply of the
transcripts (the v2 tuning half by default, whose replies carry every kind of problem and hard
negative) goes through ``detect_all`` and ``decide`` with the default policy and the context the linter
builds (the NPC's recent replies, the length target, the cast). It runs the whole set ``rounds`` times
and reports process CPU per reply (mean, p50, p95, max over the per-reply times of the later rounds;
the first round warms the pattern caches, as a running bot's are warm), and the same over each reply's
fastest round, the figure to compare between versions on a machine shared with other work.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bot.bench.report import percentile, print_table, write_json
from bot.quality.detect import detect_all
from bot.quality.findings import ReplyContext
from bot.quality.guard import GuardPolicy, decide
from bot.quality.meta import read_meta_for
from bot.quality.replay import reply_contexts, scene_context
from bot.quality.transcript import read_transcript

DEFAULT_DIR = Path("tests/quality/data/v2/tune")


def _replies(folder: Path) -> list[tuple[str, ReplyContext]]:
    """Every NPC reply in ``folder`` with the context the guard would have built for it."""
    out: list[tuple[str, ReplyContext]] = []
    for path in sorted(folder.glob("*.jsonl")):
        transcript = read_transcript(path)
        scene = scene_context(transcript, meta=read_meta_for(path))
        out.extend((line.text, ctx) for line, _, ctx in reply_contexts(transcript, scene))
    return out


def run_guard_bench(folder: Path = DEFAULT_DIR, rounds: int = 5) -> dict[str, Any]:
    """Per-reply CPU of detection plus decision over ``folder``'s replies (see the module docstring)."""
    replies = _replies(folder)
    if not replies:
        raise ValueError(f"no transcripts (*.jsonl) in {folder}")
    policy = GuardPolicy()
    best = [float("inf")] * len(replies)
    times: list[float] = []
    for round_no in range(max(2, rounds)):
        for i, (text, ctx) in enumerate(replies):
            started = time.process_time_ns()
            findings = detect_all(text, ctx)
            if findings:
                decide(findings, policy, reply=text, ctx=ctx)
            elapsed = (time.process_time_ns() - started) / 1e6
            if round_no:
                times.append(elapsed)
                best[i] = min(best[i], elapsed)
    return {
        "folder": str(folder),
        "replies": len(replies),
        "rounds_measured": max(2, rounds) - 1,
        # Each reply's fastest round: what the code costs when the shared machine leaves it alone.
        "best_cpu_ms_per_reply": {
            "mean": round(sum(best) / len(best), 3),
            "p50": round(percentile(best, 50), 3),
            "p95": round(percentile(best, 95), 3),
            "max": round(max(best), 3),
        },
        "cpu_ms_per_reply": {
            "mean": round(sum(times) / len(times), 3),
            "p50": round(percentile(times, 50), 3),
            "p95": round(percentile(times, 95), 3),
            "max": round(max(times), 3),
        },
    }


def report(figures: dict[str, Any], json_path: str | None) -> None:
    cpu, best = figures["cpu_ms_per_reply"], figures["best_cpu_ms_per_reply"]
    print_table(
        f"bench guard: {figures['replies']} replies from {figures['folder']}, {figures['rounds_measured']} rounds measured",
        [
            ("best-round CPU per reply mean / p50 / p95", f"{best['mean']:.3f} / {best['p50']:.3f} / {best['p95']:.3f} ms"),
            ("CPU per reply mean / p50", f"{cpu['mean']:.3f} ms / {cpu['p50']:.3f} ms"),
            ("CPU per reply p95 / max", f"{cpu['p95']:.3f} ms / {cpu['max']:.3f} ms"),
        ],
    )
    if json_path:
        write_json(json_path, figures)
        print(f"figures written to {json_path}")
