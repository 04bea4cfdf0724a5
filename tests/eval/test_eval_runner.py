"""The runner in-process against the local OpenAI-compatible server: resume after every kind of interruption.

The end-to-end run with every assertion on turns, verdicts and report files is ``test_eval_cli``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SEEDS

from bot.core.ports import SystemClock
from bot.engine.lines import SceneKey
from bot.engine.scene import SceneEngine
from bot.eval.judge import DIMENSIONS, load_rubrics
from bot.eval.runner import Checkpoints, EvalModels, EvalStateError, RunOptions, run_eval
from bot.eval.scenarios import load_seed_file
from bot.eval.simulator import SIMULATOR_MARKER
from bot.store import Store
from bot.store.records import NewMessage
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


async def test_a_turn_killed_mid_way_is_replayed_not_kept(tmp_path: Path, models: EvalModels):
    """The process died after the engine stored the user's line but before any reply: the line is undone."""
    scenario = load_seed_file(SEEDS)[0]
    out = tmp_path / "out"
    options = RunOptions(out_dir=out, turns=6, runs=1, baseline=False, progress=False)
    first = await run_eval([scenario], models, replace(options, max_turns_this_session=3), load_rubrics())
    assert [len(j.state.turns) for j in first.jobs] == [3]

    store = await Store.open(out / "db" / f"{scenario.id}--run1.sqlite")
    try:
        scene = await store.get_scene("eval", f"{scenario.id}-run1")
        assert scene is not None
        await store.begin_turn(scene.id, NewMessage(kind="user", speaker="Tam", text="a line the crash swallowed", author_id="eval-user"))
    finally:
        await store.close()

    second = await run_eval([scenario], models, options, load_rubrics())
    assert second.complete
    users = [r["text"] for r in await _export(out, scenario) if r["kind"] == "user"]
    assert users[1:] == [f"*leans on the rail* Tell me more, line {n}." for n in range(2, 7)]
    assert [t.user.text for t in second.jobs[0].state.turns] == users


async def test_resuming_with_a_changed_scenario_is_refused(tmp_path: Path, models: EvalModels):
    scenario = load_seed_file(SEEDS)[0]
    options = RunOptions(out_dir=tmp_path / "out", turns=2, runs=1, baseline=False, progress=False, max_turns_this_session=1)
    await run_eval([scenario], models, options, load_rubrics())
    changed = replace(scenario, opening="Something else entirely.")
    with pytest.raises(EvalStateError, match="Scenario seed-sample-en-01 .* changed since"):
        await run_eval([changed], models, options, load_rubrics())
