"""bench guard: per-reply CPU of the live guard over a folder of transcripts (figures' shape, not speed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bench.guard import run_guard_bench

TUNE = Path(__file__).resolve().parents[1] / "quality" / "data" / "v2" / "tune"


def _one_transcript(tmp_path: Path) -> Path:
    for suffix in (".jsonl", ".meta.json"):
        shutil.copy(TUNE / f"en_romance_cafe_one{suffix}", tmp_path / f"en_romance_cafe_one{suffix}")
    return tmp_path


def test_every_reply_is_measured_in_every_round_after_the_first(tmp_path: Path) -> None:
    folder = _one_transcript(tmp_path)
    replies = sum(1 for line in (folder / "en_romance_cafe_one.jsonl").read_text().splitlines()
                  if json.loads(line)["role"] == "ai")
    figures = run_guard_bench(folder, rounds=3)
    assert figures["replies"] == replies
    assert figures["rounds_measured"] == 2
    for key in ("cpu_ms_per_reply", "best_cpu_ms_per_reply"):
        cpu = figures[key]
        assert 0 < cpu["p50"] <= cpu["p95"] <= cpu["max"]
    assert figures["best_cpu_ms_per_reply"]["mean"] <= figures["cpu_ms_per_reply"]["mean"]


def test_an_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no transcripts"):
        run_guard_bench(tmp_path)


def test_cli_writes_json(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    folder = _one_transcript(tmp_path / "in")
    out = tmp_path / "guard.json"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "bench", "guard", "--dir", str(folder), "--rounds", "2", "--json", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "best-round CPU per reply" in done.stdout
    assert json.loads(out.read_text())["rounds_measured"] == 1


def test_cli_without_transcripts_says_where_it_looked(tmp_path: Path) -> None:
    """Outside a checkout the default folder is missing: one sentence naming it, not an error code."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "bench", "guard", "--rounds", "2"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "no transcripts (*.jsonl) in tests/quality/data/v2/tune" in done.stderr
    assert "give --dir" in done.stderr
