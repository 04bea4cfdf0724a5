"""``python -m bot lint-transcript`` as a user runs it: planted problems are found, clean transcripts stay quiet."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, lint
from bot.quality.findings import DETECTORS
from bot.quality.transcript import read_transcript

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"

PLANTED_EN = {
    2: "repetition",
    4: "speaks_for_user",
    5: "speaks_as_other",
    6: "assistant_voice",
    7: "formatting",
    8: "mixed_language",
    9: "silence",
    10: "length",
}
PLANTED_ZH = {
    2: "speaks_for_user",
    3: "speaks_as_other",
    4: "assistant_voice",
    5: "formatting",
    6: "mixed_language",
    7: "repetition",
    8: "silence",
}


def run_cli(*args: str, via: tuple[str, ...] = ("-m", "bot.cli.lint")) -> subprocess.CompletedProcess[str]:
    """Run the command in a fresh interpreter (``python -m bot.cli.lint`` runs the same parser and code
    as ``python -m bot lint-transcript`` without importing the other subcommands)."""
    return subprocess.run(
        [sys.executable, *via, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_registered_as_a_subcommand_of_python_m_bot() -> None:
    """``python -m bot lint-transcript`` exists and parses to the lint command."""
    assert "bot.cli.lint" in COMMANDS
    parser = argparse.ArgumentParser()
    lint.register(parser.add_subparsers())
    args = parser.parse_args(["lint-transcript", "x.jsonl", "--format", "table", "--language", "zh"])
    assert args.func is lint.run and args.format == "table" and args.language == "zh"


def test_python_m_bot_lint_transcript() -> None:
    """The full entry point, when every registered subcommand module can be imported."""
    broken = [name for name in COMMANDS if _import_error(name)]
    if broken:
        pytest.skip(f"other subcommand modules do not import yet: {broken}")
    result = run_cli(str(DATA / "planted_en.jsonl"), via=("-m", "bot", "lint-transcript"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["npc_replies"] == 11
    result = run_cli(str(DATA / "broken.jsonl"), via=("-m", "bot", "lint-transcript"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def _import_error(module: str) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, timeout=60, check=False
    )
    return probe.returncode != 0


@pytest.mark.parametrize(
    ("name", "planted"), [("planted_en.jsonl", PLANTED_EN), ("planted_zh.jsonl", PLANTED_ZH)]
)
def test_finds_every_planted_problem(name: str, planted: dict[int, str]) -> None:
    """Each planted problem is found at its turn, and the turns without one stay quiet."""
    result = run_cli(str(DATA / name))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    found: dict[int, set[str]] = {}
    for turn in report["turns"]:
        found.setdefault(turn["turn"], set()).update(f["detector"] for f in turn["findings"])
    for turn, detector in planted.items():
        assert detector in found.get(turn, set()), (turn, detector, found.get(turn))
    assert set(found) == set(planted), found
    assert set(report["counts"]) == set(DETECTORS) and set(report["rates"]) == set(DETECTORS)
    assert all(report["counts"][d] >= 1 for d in set(planted.values()))
    assert report["rates"]["silence"] == pytest.approx(
        report["counts"]["silence"] / report["npc_replies"], abs=1e-4
    )


@pytest.mark.parametrize("name", ["clean_en.jsonl", "clean_zh.json"])
def test_clean_transcript_is_quiet(name: str) -> None:
    result = run_cli(str(DATA / name), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["turns"] == [] and sum(report["counts"].values()) == 0
    assert report["npc_replies"] > 0


def test_table_format_for_people() -> None:
    result = run_cli(str(DATA / "planted_en.jsonl"), "--format", "table")
    assert result.returncode == 0
    assert "speaks_for_user" in result.stdout and "per reply" in result.stdout
    assert "11 NPC replies, 8 with findings" in result.stdout


def test_options_change_the_context() -> None:
    """--language, --max-words and --user-name are used for every reply."""
    report = json.loads(run_cli(str(DATA / "clean_en.jsonl"), "--max-words", "20").stdout)
    assert report["counts"]["length"] >= 1
    report = json.loads(run_cli(str(DATA / "clean_en.jsonl"), "--language", "zh").stdout)
    assert report["language"] == "zh" and report["counts"]["mixed_language"] == report["npc_replies"]
    report = json.loads(run_cli(str(DATA / "clean_en.jsonl"), "--user-name", "Alex").stdout)
    assert report["user_names"] == ["Alex"]


@pytest.mark.parametrize(
    ("target", "message"),
    [("broken.jsonl", "broken.jsonl:3: invalid JSON"), ("missing.jsonl", "missing.jsonl: no such file")],
)
def test_unreadable_input_exits_2_with_one_line(target: str, message: str) -> None:
    result = run_cli(str(DATA / target))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("lint-transcript: error:")
    assert "Traceback" not in result.stderr


def test_lint_in_process_derives_names_from_speakers() -> None:
    """Other characters come from NPC speaker fields; Role-Play Bench without speakers defaults to "user"."""
    report = lint.lint(read_transcript(DATA / "planted_en.jsonl"))
    assert report["user_names"] == ["Alex"] and report["language"] == "en"
    report = lint.lint(read_transcript(DATA / "clean_en.jsonl"))
    assert report["user_names"] == ["user"] and report["format"] == "rpbench"
