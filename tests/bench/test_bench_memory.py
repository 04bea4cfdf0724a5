"""``python -m bot bench memory``: the plumbing, end to end, on the first steps of the tune scene.

A smoke test (``play`` in its own process against the pool-answering model server in another, the
prompts read back from the scene's SQLite file, recall timed in the turns and on the finished scene);
no figure is held to a goal here: the goals are the full run's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.bench.memory import in_turn_recall

ROOT = Path(__file__).resolve().parents[2]


def test_bench_memory_plays_a_scene_and_reports_each_figure(tmp_path):
    out = tmp_path / "memory.json"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "bench", "memory", "--scenes", "tune", "--steps", "40", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "recall in the turns" in done.stdout and "stable prefix" in done.stdout
    scene = json.loads(out.read_text(encoding="utf-8"))["scenes"]["tune"]
    for variant in ("ensemble", "words-only"):
        figures = scene[variant]
        assert figures["replies"] > 10 and figures["leak_checks"] >= 0
        assert 0 < figures["prompt_tokens_max"] <= 6000
        assert figures["turn_recalls"] > 0 and figures["turn_total_ms_p50"] > 0
    assert scene["ensemble"]["turn_wait_ms_p99"] >= scene["ensemble"]["turn_wait_ms_p50"]
    assert scene["words-only"]["turn_wait_ms_p50"] == 0  # no embedder: nothing to wait for


def test_in_turn_recall_reads_the_engines_line_at_close():
    log = "\n".join([
        "2026-12-04T18:36:28Z [info     ] npc.prompt    character=old-tom tokens=1426",
        "2026-12-04T18:36:28Z [info     ] memory.recall_timings          embed_ms_p50=38.37 recalls=3 "
        "total_ms_p50=11.2 total_ms_p99=36.1 wait_ms_p50=10.64 wait_ms_p99=35.69",
    ])
    figures = in_turn_recall(log)
    assert figures == {
        "turn_embed_ms_p50": 38.37, "turn_recalls": 3.0, "turn_total_ms_p50": 11.2, "turn_total_ms_p99": 36.1,
        "turn_wait_ms_p50": 10.64, "turn_wait_ms_p99": 35.69,
    }
    assert in_turn_recall("no such line") == {}
