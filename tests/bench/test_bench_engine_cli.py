"""``python -m bot bench engine --quick``: every section runs end to end and the JSON holds what the README needs.

A smoke test of the benchmark's plumbing (a server process, the app, the play subprocess); the figures
themselves are not checked against any speed, only against each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_quick_bench_engine_writes_every_section(tmp_path, request, database):
    out = tmp_path / "engine.json"
    where = [] if database == "sqlite" else ["--database-url", request.getfixturevalue("pg_url")]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "bench", "engine", "--quick", "--json", str(out), *where],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "per NPC reply" in done.stdout and "goals" in done.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))

    assert figures["quick"] is True and len(figures["load_before"]) == 3
    floor = figures["floor"]
    assert floor["sdk_round_trip"]["loop_cpu_ms_p50"] > 0 and floor["store_transaction"]["wall_ms_p50"] > 0
    engine = "PostgreSQL" if database == "postgresql" else "SQLite"
    assert floor["store_transaction"]["engine"].startswith(engine) and figures["machine"]["database"].startswith(engine)
    assert figures["start"]["first_reply_wall_ms"] > 0 and figures["start"]["median_wall_ms"] > 0

    rows = [*figures["concurrency"], *figures["growth"]["turn"], *figures["growth"]["cast"], *figures["growth"]["stored_scenes"]]
    assert [r["scenes"] for r in figures["concurrency"]] == [1, 3]
    assert [r["scene_cast"] for r in figures["growth"]["cast"]] == [3, 30]
    for row in rows:
        assert row["samples"] > 0, row
        assert 0 < row["loop_cpu_ms"]["p50"] <= row["loop_cpu_ms"]["p99"] <= row["loop_cpu_ms"]["max"]
        assert row["wall_ms"]["p50"] >= row["model_ms"]["p50"] > 0
        assert row["model_calls_per_reply"] >= 1
        assert row["x_floor"]["loop_cpu_p50"] == round(row["loop_cpu_ms"]["p50"] / floor["loop_cpu_ms"], 2)
    for row in figures["concurrency"]:
        assert row["replies"] == row["samples"] and row["replies_per_s"] > 0
        assert row["process_cpu_ms_per_reply"] >= row["loop_cpu_ms"]["p50"] * 0.5
        # the bundled embedder runs on its own threads: counted, and part of the process CPU
        assert 0 < row["embedder_cpu_ms_per_reply"] < row["process_cpu_ms_per_reply"]

    words = figures["words_only"][0]
    assert words["scenes"] == 1 and words["replies"] > 0 and words["embedder_cpu_ms_per_reply"] == 0

    for key, embeddings in (("play", "default"), ("play_words_only", "off")):
        play = figures[key]
        assert play["embeddings"] == embeddings
        assert play["replies"] > 0 and play["process_cpu_ms_per_reply"] > 0 and play["startup_cpu_s"] > 0
        assert sum(w["replies"] for w in play["windows"]) == play["replies"]
        assert all(w["replies"] > 0 for w in play["windows"]), "every window has replies (no line limit held the script back)"
    assert [g["met"] in (True, False) for g in figures["goals"]] == [True] * 8
    assert "of which embedding" in out.with_suffix(".md").read_text(encoding="utf-8")
