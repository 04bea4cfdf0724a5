"""Evaluation on a laptop: the local server's role-play responder answers the judge and the simulator in their
real formats, ``eval`` end to end yields scores, and the report says the scores come from the local server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SCENARIO, eval_env

from bot.eval.judge import chunk_prompt, parse_verdict
from bot.eval.records import Line, Turn
from bot.eval.report import build_figure, empty_chart_reason, local_notice, render_markdown
from bot.eval.scenarios import load_scenario_file
from bot.eval.simulator import simulator_messages
from bot.testing import roleplay_responder as rr
from bot.testing.openai_server import ServerThread

RUBRIC = "# Judge rubric: User preferences / Interaction (respecting the user as a co-author)\n\nScore it."


def judge_body(prompt: str, rubric: str = RUBRIC) -> dict:
    return {"messages": [{"role": "system", "content": rubric}, {"role": "user", "content": prompt}],
            "response_format": {"type": "json_object"}}


def chunk(replies: list[str], library) -> str:
    scenario = load_scenario_file(SCENARIO, library)
    npc = scenario.cast_names[0]
    turns = [
        Turn(turn=i + 1, user=Line(kind="user", speaker=scenario.user_name, text="What now?"),
             replies=[Line(kind="npc", speaker=npc, text=text)])
        for i, text in enumerate(replies)
    ]
    return chunk_prompt(scenario, [], turns, 1, len(turns))


CLEAN = [
    '*looks up from the nets* "Late again. What kept you?"',
    '*hands over a lantern* "Take this. The fog is thick tonight. Where are you headed?"',
    '*laughs* "You never learn, do you? Sit down and tell me."',
]


def test_judge_scores_a_clean_chunk_high_and_a_flawed_one_lower(library) -> None:
    """The verdict parses as the judge's contract; problems lower the score and are quoted exactly."""
    clean = parse_verdict(rr.respond(judge_body(chunk(CLEAN, library)), seed=0))
    assert clean.findings == [] and clean.score >= 90
    flawed_text = 'She sighs. "Fine." You walk over to the window and stare out, your heart pounding.'
    flawed = parse_verdict(rr.respond(judge_body(chunk([*CLEAN, flawed_text], library)), seed=0))
    assert flawed.score < 90 and flawed.score < clean.score
    (finding,) = flawed.findings
    assert finding.quote in flawed_text and finding.problem.startswith("speaks_for_user")


def test_judge_dimensions_look_at_their_own_detectors(library) -> None:
    """A planted loop lowers Stories / Diversity, not Preferences / Interaction."""
    looped = "*nods* " + "The tide is turning, mark my words. " * 3
    prompt = chunk([*CLEAN, looped], library)
    diversity = parse_verdict(rr.respond(judge_body(prompt, "# Judge rubric: Stories / Diversity (x)"), seed=1))
    interaction = parse_verdict(rr.respond(judge_body(prompt), seed=1))
    assert diversity.score < 90 and diversity.findings
    assert interaction.score >= 90 and interaction.findings == []


def test_judge_is_deterministic_and_varied_by_seed(library) -> None:
    prompt = chunk(CLEAN, library)
    scores = {s: parse_verdict(rr.respond(judge_body(prompt), seed=s)).score for s in range(12)}
    assert scores[3] == parse_verdict(rr.respond(judge_body(prompt), seed=3)).score
    assert len(set(scores.values())) > 1
    assert max(scores.values()) - min(scores.values()) <= 2 * rr.JITTER


def test_simulator_plays_the_persona(library) -> None:
    """The simulator's line follows its style and language and addresses the character who spoke last."""
    scenario = load_scenario_file(SCENARIO, library)
    history = [Line(kind="npc", speaker="Mira Salt", text="Who are you?")]
    body = {"messages": [{"role": m.role, "content": m.content} for m in simulator_messages(scenario, history)]}
    line = rr.respond(body, seed=0)
    assert "Mira" in line and line == rr.respond(body, seed=0)
    assert not line.lstrip().startswith("{")
    zh = {"messages": [{"role": "system", "content": f"{rr.SIMULATOR_MARKER}: you play 林夏.\nYou drive the story.\n"
                                                       "Fast plot.\nWrite in Chinese (简体中文)."},
                       {"role": "user", "content": "苏婉: 你来了。"}]}
    answer = rr.respond(zh, seed=2)
    assert "苏婉" in answer and any("\u4e00" <= ch <= "\u9fff" for ch in answer)


def test_engine_json_steps_get_their_shapes() -> None:
    summary = {"messages": [
        {"role": "system", "content": 'You keep the memory of Mira. Answer JSON only: {"summary": "<...>", "facts": ["<...>"]}.'},
        {"role": "user", "content": "Previous summary of Mira: (none)\n\nNew lines Mira heard:\nAnn: hello there\nMira: the tide is out"}],
        "response_format": {"type": "json_object"}}
    assert json.loads(rr.respond(summary)) == {"summary": "Recently: Ann: hello there Mira: the tide is out", "facts": []}
    moves = {"messages": [{"role": "system", "content": 'JSON only: {"moves": [...]}'}], "response_format": {"type": "json_object"}}
    assert json.loads(rr.respond(moves)) == {"moves": []}


def test_npc_lines_follow_the_scene_language_and_flaw_rate() -> None:
    zh = {"messages": [{"role": "system", "content": "你是苏婉，落雁镇客栈的老板娘。说话简短。"}, {"role": "user", "content": "你好"}]}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rr.respond(zh, flaw_rate=0))
    bodies = [{"messages": [{"role": "system", "content": "You are Mira."}, {"role": "user", "content": f"line {i}"}]}
              for i in range(200)]
    clean = [rr.respond(b, flaw_rate=0) for b in bodies]
    assert all(line in rr._NPC_EN for line in clean)
    flawed = sum(1 for b in bodies if rr.respond(b, flaw_rate=0.5) not in rr._NPC_EN)
    assert 60 <= flawed <= 140


# --- the report ---------------------------------------------------------------------------------------


def _results(overall: float | None, scored: int, unscored: int, words: float = 14.6, local: bool = False) -> dict:
    chunk = {"index": 0, "start": 1, "end": 20, "overall": overall, "mean_reply_words": words}
    summary = {"by_chunk": [chunk], "verdicts_scored": scored, "verdicts_unscored": unscored}
    models = {"judge": {"model": "m", "base_url": "u", **({"local_server": True} if local else {})}}
    return {"summary": {"ensemble": summary}, "models": models}


def test_charts_start_at_zero_and_an_empty_one_says_why() -> None:
    fig = build_figure(_results(80.0, 6, 0, words=14.6))
    top, bottom = fig.axes
    assert top.get_ylim() == (0, 100) and bottom.get_ylim()[0] == 0 and bottom.get_ylim()[1] > 14.6
    assert not top.texts
    assert empty_chart_reason(_results(None, 0, 6)) == "all 6 judge verdicts were unscored (see Problems in report.md)"
    assert "needs Worlds, Stories and Preferences" in empty_chart_reason(_results(None, 4, 2))
    assert "not complete" in empty_chart_reason(_results(None, 0, 0)) or "yet" in empty_chart_reason(_results(None, 0, 0))
    fig = build_figure(_results(None, 0, 6))
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "No score to plot: all 6 judge verdicts were unscored (see Problems in report.md)"
    ]


def test_local_notice() -> None:
    assert local_notice({"judge": {"model": "gpt"}}) == ""
    notice = local_notice({"judge": {"local_server": True}, "npc": {"local_server": True}})
    assert notice.startswith("Scores come from the local test server") and "stock lines" in notice
    fig = build_figure(_results(80.0, 6, 0, local=True))
    assert "local test server" in fig.axes[0].get_title()


@pytest.mark.parametrize("seed", ["0"])
def test_eval_end_to_end_on_the_local_server_scores_every_chunk(tmp_path: Path, seed: str) -> None:
    """The laptop command: the local server with the role-play responder, ``eval`` scores every verdict."""
    with ServerThread(responder=rr.make_responder(int(seed))) as server:
        out = tmp_path / "run"
        result = subprocess.run(
            [sys.executable, "-m", "bot", "eval", "--scenario", str(SCENARIO), "--turns", "20", "--runs", "1",
             "--out", str(out), "--no-progress"],
            capture_output=True, text=True, cwd=ROOT, env=eval_env(server), timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert "answered by the local test server" in result.stdout
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for summary in results["summary"].values():
        assert summary["verdicts_unscored"] == 0 and summary["verdicts_scored"] == 6  # one chunk, six dimensions
        assert summary["overall"] is not None and 0 < summary["overall"] <= 100
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "> **Scores come from the local test server" in markdown
    assert render_markdown(results) == markdown
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
