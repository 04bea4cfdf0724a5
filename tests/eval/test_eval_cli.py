"""``python -m bot eval`` as a subprocess against the local server thread: files written, resume, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SCENARIO, SEEDS, eval_env
from eval_support import INVALID_TWICE, VALID_AFTER_RETRY

from bot.__main__ import main
from bot.content.loader import Library
from bot.eval.baseline import BASELINE_MARKER
from bot.eval.judge import DIMENSIONS, load_rubrics
from bot.eval.runner import EvalModels, RunOptions, run_eval
from bot.eval.scenarios import load_scenario_file, load_seed_file
from bot.eval.simulator import SIMULATOR_MARKER
from bot.model.openai_chat import OpenAIChatModel
from bot.testing.openai_server import ServerThread

PNG = b"\x89PNG\r\n\x1a\n"


def _eval(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "eval", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


def test_acceptance_run_writes_json_markdown_and_png(thread_server: ServerThread, tmp_path: Path, library: Library):
    """The acceptance command (shipped scenario and seeds, both systems) end to end against the local server:
    every turn played, one judge answer invalid twice (unscored), one valid after the reminder, all files."""
    out = tmp_path / "run"
    result = _eval(eval_env(thread_server), "--turns", "20", "--runs", "1", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"Report:  {out / 'report.md'}" in result.stdout and f"Plot:    {out / 'report.png'}" in result.stdout
    assert "Overall: Ensemble 66.2 vs baseline 66.2 (8/8 jobs complete)." in result.stdout

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["format"] == "ensemble-eval/1" and results["complete"]
    assert results["config"] == {"turns": 20, "runs": 1, "chunk_turns": 20, "concurrency": 2, "baseline": True}
    # The local server says who it is in /v1/models, so the report can say its scores are not a model's.
    assert results["models"]["judge"] == {"model": "fake-model", "base_url": thread_server.base_url, "local_server": True}
    scenarios = {s.id: s for s in [load_scenario_file(SCENARIO, library), *load_seed_file(SEEDS)]}
    assert sorted(s["id"] for s in results["scenarios"]) == sorted(scenarios)
    assert [j["system"] for j in results["jobs"]] == ["ensemble", "baseline"] * 4
    for job in results["jobs"]:
        assert job["complete"] and job["turns_played"] == 20
        turns = job["transcript"]["turns"]
        assert [t["turn"] for t in turns] == list(range(1, 21))
        assert all(any(r["kind"] == "npc" for r in t["replies"]) for t in turns), job["id"]
        assert turns[0]["user"]["text"] == scenarios[job["scenario"]].opening
        assert [t["user"]["text"] for t in turns[1:]] == [f"*leans on the rail* Tell me more, line {n}." for n in range(2, 21)]
        (chunk,) = job["chunks"]
        assert (chunk["start"], chunk["end"]) == (1, 20) and set(chunk["dimensions"]) == set(DIMENSIONS)
        broken = chunk["dimensions"][INVALID_TWICE]
        assert broken["status"] == "unscored" and broken["score"] is None and broken["attempts"] == 2
        assert broken["error"].startswith("invalid judge answer twice")
        retried = chunk["dimensions"][VALID_AFTER_RETRY]
        assert retried["status"] == "scored" and retried["score"] == 60 and retried["attempts"] == 2
        basics = chunk["dimensions"]["worlds_basics"]
        assert basics["attempts"] == 1 and basics["findings"][0]["quote_found"], job["id"]
        assert job["overall"] == 66.25  # Worlds (90+80)/2, Stories (60+50)/2, Preferences 40; knowledge unscored
        assert job["detectors"]["npc_replies"] >= 20
    harbor = results["jobs"][0]
    assert harbor["id"] == "harbor-newcomer--ensemble--run1"
    assert harbor["transcript"]["setup"][-1] == {"kind": "npc", "speaker": "Old Tom Gannet", "text": scenarios["harbor-newcomer"].prologue}
    assert any(r["kind"] == "narration" for r in harbor["transcript"]["setup"])  # the summons
    for summary in results["summary"].values():
        assert summary["overall"] == 66.25 and summary["verdicts_scored"] == 20 and summary["verdicts_unscored"] == 4
        assert summary["by_chunk"][0]["mean_reply_words"] > 0
    assert sorted(p.name for p in (out / "state").iterdir()) == sorted(f"{j['id']}.json" for j in results["jobs"])
    assert len(list((out / "db").glob("*.sqlite"))) == 4

    markdown = (out / "report.md").read_text(encoding="utf-8")
    for row in (
        "| Ensemble | 66.2 | 85.0 | 55.0 | 40.0 | 20 | 4 | 80 | 0 |",
        "| baseline | 66.2 | 85.0 | 55.0 | 40.0 | 20 | 4 | 80 | 0 |",
        "| Worlds: basics | 90.0 | 90.0 | +0.0 |",
        "| Worlds: knowledge | n/a | n/a | n/a |",
        "| **Overall** | 66.2 | 66.2 | +0.0 |",
        "| 1-20 | 66.2 | 66.2 |",
        "| speaks_for_user |",
        "| seed-sample-zh-01 | active-slow | Ensemble | 66.2 |",
        f"| `harbor-newcomer--ensemble--run1` | 1-20 | {INVALID_TWICE} | invalid judge answer twice",
    ):
        assert row in markdown, row
    assert (out / "report.png").read_bytes()[:8] == PNG

    # The engine was really played and both systems got the persona; the Chinese seed was played in Chinese.
    prompts = [str(r.messages[0]["content"]) for r in thread_server.requests if r.messages]
    engine = [p for p in prompts if p.startswith("You are Mira Salt, one character in a group role-play")]
    assert engine and all("The player character, Wren:" in p for p in engine)
    assert any(p.startswith(BASELINE_MARKER) and "# Wren (the user)" in p for p in prompts)
    assert any(p.startswith("You are 沈青梧, one character") and "Write in Chinese" in p for p in prompts)
    assert any(p.startswith(BASELINE_MARKER) and "用中文回复" in p for p in prompts)
    assert any(p.startswith(SIMULATOR_MARKER) and "苏小满" in p and "Write in Chinese" in p for p in prompts)


async def test_interrupted_run_resumes_where_it_stopped(thread_server: ServerThread, tmp_path: Path):
    """Stopped after 3 of 6 turns by the internal session limit (exit 1, partial report); then resumed."""
    seeds = tmp_path / "one.jsonl"
    seeds.write_text(SEEDS.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    out = tmp_path / "run"
    args = ("--seeds", str(seeds), "--turns", "6", "--runs", "1", "--out", str(out), "--no-progress", "--no-baseline")
    first = _eval(eval_env(thread_server), *args, "--max-turns-this-session", "3")
    assert first.returncode == 1, first.stderr
    assert f"run the same command with --out {out} to continue" in first.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert not results["complete"] and [j["turns_played"] for j in results["jobs"]] == [3]
    assert "INCOMPLETE" in (out / "report.md").read_text(encoding="utf-8")

    # The same run, continued (in-process here, to keep the test fast).
    model = OpenAIChatModel(base_url=thread_server.base_url, api_key="k", model="fake-model")
    try:
        outcome = await run_eval(
            load_seed_file(seeds), EvalModels(model, model, model), RunOptions(out_dir=out, turns=6, runs=1, baseline=False, progress=False),
            load_rubrics(),
        )
    finally:
        await model.aclose()
    assert outcome.complete
    (job,) = outcome.jobs
    users = [t.user.text for t in job.state.turns]
    assert users[1:] == [f"*leans on the rail* Tell me more, line {n}." for n in range(2, 7)]


def test_missing_settings_and_bad_files_are_one_sentence(tmp_path: Path, monkeypatch, capsys):
    for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SIM_BASE_URL",
                 "SIM_API_KEY", "SIM_MODEL", "JUDGE_BASE_URL", "JUDGE_API_KEY", "JUDGE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLM_API_KEY", "k")
    assert main(["eval", "--turns", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("Set LLM_MODEL") and len(error.splitlines()) == 1

    monkeypatch.setenv("LLM_MODEL", "fake-model")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("JUDGE_BASE_URL", "https://judge.example/v1")
    monkeypatch.setenv("JUDGE_MODEL", "big-judge")
    assert main(["eval", "--turns", "1"]) == 2
    assert capsys.readouterr().err.strip() == "Set JUDGE_API_KEY: JUDGE_BASE_URL points to another server than LLM_BASE_URL."

    monkeypatch.delenv("JUDGE_BASE_URL")
    assert main(["eval", "--turns", "1"]) == 2  # no scenarios in this folder
    assert capsys.readouterr().err.strip().startswith("No scenarios: pass --scenario FILE or --seeds FILE")

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "ai_name": "A"}\n', encoding="utf-8")
    assert main(["eval", "--seeds", str(bad), "--turns", "1"]) == 2
    assert capsys.readouterr().err.startswith(f"{bad}:1: ai_setting: required field is missing")
    assert main(["eval", "--seeds", str(bad), "--turns", "0"]) == 2
    assert capsys.readouterr().err.strip() == "--turns must be at least 1."
    assert main(["eval", "--seeds", str(bad), "--seed-style", "lazy"]) == 2
    assert capsys.readouterr().err.startswith("--seed-style: a style is ACTIVITY-PACING")
