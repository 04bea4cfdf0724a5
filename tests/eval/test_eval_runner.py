"""The harness end to end in-process, against the local OpenAI-compatible server: turns, judge, resume."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import SCENARIO, SEEDS
from eval_support import INVALID_TWICE, VALID_AFTER_RETRY

from bot.content.loader import Library
from bot.engine.lines import SceneKey
from bot.engine.ports import SystemClock
from bot.engine.scene import SceneEngine
from bot.eval.judge import DIMENSIONS, load_rubrics
from bot.eval.report import write_reports
from bot.eval.runner import Checkpoints, EvalModels, RunOptions, run_eval
from bot.eval.scenarios import load_scenario_file, load_seed_file
from bot.eval.simulator import SIMULATOR_MARKER
from bot.store import Store
from bot.testing.openai_server import OpenAIServer

PNG = b"\x89PNG\r\n\x1a\n"


def _sim_requests(server: OpenAIServer) -> int:
    return sum(1 for r in server.requests if r.messages and str(r.messages[0]["content"]).startswith(SIMULATOR_MARKER))


async def _export(out: Path, scenario, run: int = 1) -> list[dict]:
    store = await Store.open(out / "db" / f"{scenario.id}--run{run}.sqlite")
    try:
        engine = SceneEngine(store=store, model=None, library=scenario.library, clock=SystemClock())  # type: ignore[arg-type]
        return await engine.export(SceneKey("eval", f"{scenario.id}-run{run}"))
    finally:
        await store.close()


async def test_full_protocol_against_the_local_server(
    tmp_path: Path, models: EvalModels, server: OpenAIServer, library: Library, script_language: None
):
    """Two scenarios (ours in English, a Chinese seed) x both systems: every turn, verdict and report file."""
    scenarios = [load_scenario_file(SCENARIO, library), load_seed_file(SEEDS)[1]]
    options = RunOptions(out_dir=tmp_path / "out", turns=20, runs=1, concurrency=2, progress=False)
    outcome = await run_eval(scenarios, models, options, load_rubrics())
    assert outcome.complete and not outcome.errors
    paths = write_reports(outcome)

    results = json.loads(paths.json.read_text(encoding="utf-8"))
    assert results["complete"] and [j["system"] for j in results["jobs"]] == ["ensemble", "baseline"] * 2
    for job in results["jobs"]:
        turns = job["transcript"]["turns"]
        assert [t["turn"] for t in turns] == list(range(1, 21))
        assert all(t["replies"] and any(r["kind"] == "npc" for r in t["replies"]) for t in turns), job["id"]
        assert turns[0]["user"]["text"] == next(s for s in scenarios if s.id == job["scenario"]).opening
        assert [t["user"]["text"] for t in turns[1:]] == [f"*leans on the rail* Tell me more, line {n}." for n in range(2, 21)]
        (chunk,) = job["chunks"]
        assert (chunk["start"], chunk["end"]) == (1, 20)
        assert set(chunk["dimensions"]) == set(DIMENSIONS)
        broken = chunk["dimensions"][INVALID_TWICE]
        assert broken["status"] == "unscored" and broken["score"] is None and broken["attempts"] == 2
        assert broken["error"].startswith("invalid judge answer twice")
        retried = chunk["dimensions"][VALID_AFTER_RETRY]
        assert retried["status"] == "scored" and retried["score"] == 60 and retried["attempts"] == 2
        basics = chunk["dimensions"]["worlds_basics"]
        assert basics["attempts"] == 1 and basics["findings"][0]["quote_found"], job["id"]
        assert job["overall"] == 66.25  # Worlds (90+80)/2, Stories (60+50)/2, Preferences 40; knowledge unscored
        assert job["detectors"]["npc_replies"] >= 20
    ensemble = results["jobs"][0]
    assert ensemble["transcript"]["setup"][-1] == {
        "kind": "npc", "speaker": "Old Tom Gannet", "text": scenarios[0].prologue,
    }
    assert any(r["kind"] == "narration" for r in ensemble["transcript"]["setup"])  # the summons
    for system in ("ensemble", "baseline"):
        summary = results["summary"][system]
        assert summary["overall"] == 66.25 and summary["verdicts_unscored"] == 2 and summary["verdicts_scored"] == 10
        assert set(summary["detectors"]["rates"]) >= {"speaks_for_user", "repetition", "mixed_language"}
        assert summary["by_chunk"][0]["mean_reply_words"] > 0

    markdown = paths.markdown.read_text(encoding="utf-8")
    assert "| Worlds: knowledge | n/a | n/a | n/a |" in markdown
    assert "| Stories: diversity | 60.0 | 60.0 | +0.0 |" in markdown
    assert "| 1-20 |" in markdown and "| speaks_for_user |" in markdown
    assert f"| `harbor-newcomer--ensemble--run1` | 1-20 | {INVALID_TWICE} | invalid judge answer twice" in markdown
    assert paths.png.read_bytes()[:8] == PNG

    # The engine was really played: prompts from the engine, the Chinese seed in Chinese.
    npc_prompts = [str(r.messages[0]["content"]) for r in server.requests if r.messages]
    assert any(p.startswith("You are Mira Salt, one character in a group role-play") for p in npc_prompts)
    assert any(p.startswith("You are 沈青梧") for p in npc_prompts)
    assert any("Write in Chinese" in p and p.startswith(SIMULATOR_MARKER) for p in npc_prompts)


async def test_resume_continues_without_repeating(tmp_path: Path, models: EvalModels, server: OpenAIServer):
    """Stopped after 7 turns (and the 7th turn's checkpoint lost): the rerun continues at the right turn."""
    scenario = load_seed_file(SEEDS)[0]
    out = tmp_path / "out"
    rubrics = load_rubrics()
    first = await run_eval([scenario], models, RunOptions(out_dir=out, turns=20, runs=1, concurrency=1, progress=False, max_turns_this_session=7), rubrics)
    assert not first.complete
    states = {job.system: job.state for job in first.jobs}
    assert len(states["ensemble"].turns) == 7 and states["baseline"].turns == []
    assert not states["ensemble"].chunks
    assert _sim_requests(server) == 6

    # A crash between the engine's commit and the checkpoint: the checkpoint is one turn behind the database.
    checkpoints = Checkpoints(out)
    state = checkpoints.load("seed-sample-en-01--ensemble--run1")
    assert state is not None
    state.turns.pop()
    checkpoints.save(state)

    second = await run_eval([scenario], models, RunOptions(out_dir=out, turns=20, runs=1, concurrency=1, progress=False), rubrics)
    assert second.complete and not second.errors
    assert _sim_requests(server) == 19 * 2  # one simulated line per turn after the opening, none repeated

    records = await _export(out, scenario)
    users = [r["text"] for r in records if r["kind"] == "user"]
    assert len(users) == 20 and users[0] == scenario.opening
    assert users[1:] == [f"*leans on the rail* Tell me more, line {n}." for n in range(2, 21)]
    ensemble = next(j for j in second.jobs if j.system == "ensemble").state
    assert [t.user.text for t in ensemble.turns] == users
    assert set(ensemble.chunks["0"].dimensions) == set(DIMENSIONS)


async def test_a_crash_in_a_job_is_recorded_and_resumed(tmp_path: Path, models: EvalModels):
    """An exception after turn 5 stops that job only; the next session finishes it from turn 6."""
    scenario = load_seed_file(SEEDS)[2]
    out = tmp_path / "out"

    def crash(job: str, turn: int) -> None:
        if job.endswith("--baseline--run1") and turn == 5:
            raise RuntimeError("simulated crash")

    options = RunOptions(out_dir=out, turns=20, runs=1, concurrency=2, progress=False)
    first = await run_eval([scenario], models, options, load_rubrics(), on_turn=crash)
    assert not first.complete
    assert first.errors == ["seed-sample-en-02--baseline--run1: RuntimeError: simulated crash"]
    baseline = next(j for j in first.jobs if j.system == "baseline").state
    assert len(baseline.turns) == 5 and baseline.error

    second = await run_eval([scenario], models, options, load_rubrics())
    assert second.complete and not second.errors
    baseline = next(j for j in second.jobs if j.system == "baseline").state
    assert [t.turn for t in baseline.turns] == list(range(1, 21)) and baseline.error is None
    assert len({t.user.text for t in baseline.turns}) == 20
    # The baseline saw the whole history: the last request held every earlier line.
    assert all(t.replies[0].text == f"*nods slowly* Baseline answer number {t.turn}, friend. What next?" for t in baseline.turns)
