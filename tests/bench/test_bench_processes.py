"""``python -m bot bench processes``: one and two sharded bot processes on one database, end to end.

A smoke test of the plumbing (real processes with shard leases and fenced commits, the model server in
another process, one shared SQLite file or PostgreSQL database); no figure is held to a speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bench.processes import guild_ids
from bot.shards.plan import shard_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("count", [1, 2, 3])
def test_each_process_plays_only_servers_of_its_own_shard(count):
    for shard in range(count):
        ids = guild_ids(shard, count, 5)
        assert len(set(ids)) == 5
        assert {shard_of(g, count) for g in ids} == {shard}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_bench_processes_runs_one_and_two_processes(tmp_path, request, database):
    out = tmp_path / "processes.json"
    where = [] if database == "sqlite" else ["--database-url", request.getfixturevalue("pg_url")]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "bench", "processes", "--scenes", "2", "--lines", "2", "--json", str(out), *where],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "replies/s" in done.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["machine"]["database"].startswith("PostgreSQL" if database == "postgresql" else "SQLite")
    one, two = figures["rows"]
    assert (one["processes"], two["processes"]) == (1, 2)
    assert len(two["per_process_replies_per_s"]) == 2 and all(r > 0 for r in two["per_process_replies_per_s"])
    for row in (one, two):
        # every measured line is answered: 2 scenes x 2 lines per process, at least one reply each
        assert row["replies"] >= 4 * row["processes"]
        assert row["replies_per_s"] > 0 and row["bot_cpu_ms_per_reply"] > 0 and row["span_s"] > 0
    table = out.with_suffix(".md").read_text(encoding="utf-8")
    assert table.count("\n| ") == 3 and "replies/s" in table  # header and one row per process count
    assert one["x_one_process"] == 1.0 and two["x_one_process"] == round(two["replies_per_s"] / one["replies_per_s"], 2)
