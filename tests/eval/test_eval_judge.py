"""The judge: rubric files, JSON validation with one retry, unscored (never invented) verdicts, the weights."""

from __future__ import annotations

import pytest
from conftest import SEEDS

from bot.core.ports import ChatMessage, ChatOptions
from bot.eval.judge import (
    DIMENSIONS,
    REMINDER,
    Judge,
    VerdictError,
    category_scores,
    chunk_prompt,
    chunk_ranges,
    load_rubrics,
    overall_score,
    parse_verdict,
)
from bot.eval.records import Line, Turn
from bot.eval.scenarios import load_seed_file
from bot.testing.scripted_model import ScriptedModel, Unavailable


def test_every_rubric_exists_and_states_the_contract():
    rubrics = load_rubrics()
    assert set(rubrics) == set(DIMENSIONS)
    for dimension, text in rubrics.items():
        assert text.startswith("# Judge rubric:"), dimension
        assert '{"findings": [{"quote":' in text and '"score": <integer 0-100>}' in text, dimension
        assert "NPC" in text and "[USER]" in text


def test_rubrics_from_a_folder_must_be_complete(tmp_path):
    (tmp_path / "worlds_basics.md").write_text("# Judge rubric: x", encoding="utf-8")
    with pytest.raises(Exception, match="worlds_logic.md is missing"):
        load_rubrics(tmp_path)


def test_parse_verdict_tolerates_fences_and_rejects_bad_shapes():
    assert parse_verdict('```json\n{"findings": [], "score": 88}\n```').score == 88
    assert parse_verdict('Verdict: {"findings": [{"quote": "a", "problem": "b", "severity": 2}], "score": 50.5} done').findings[0].quote == "a"
    for bad, reason in [
        ("no json here", "no JSON object"),
        ('{"findings": [], "score": 101}', "score"),
        ('{"findings": [], "score": "high"}', "score"),
        ('{"score": 50}', "findings"),
        ('{"findings": [{"quote": ""}], "score": 5}', "findings"),
        ('{"findings": [], "score": 5', "no JSON object"),
    ]:
        with pytest.raises(VerdictError, match=reason):
            parse_verdict(bad)


def test_scores_use_the_published_weights():
    scores = dict.fromkeys(DIMENSIONS, 80.0) | {"preferences_interaction": 40.0}
    assert overall_score(scores) == 70.0
    partial = {**scores, "worlds_knowledge": None}
    assert category_scores(partial)["worlds"] == 80.0
    assert overall_score({**scores, "preferences_interaction": None}) is None
    assert chunk_ranges(45) == [(1, 20), (21, 40), (41, 45)]


def _scenario_and_turns():
    scenario = load_seed_file(SEEDS)[0]
    turns = [
        Turn(turn=n, user=Line(kind="user", speaker="Tam", text=f"user {n}"),
             replies=[Line(kind="npc", speaker=scenario.cast[0].name, text=f"*grins* Reply number {n}, kid.")])
        for n in range(1, 26)
    ]
    return scenario, turns


def test_chunk_prompt_shows_setup_context_and_only_the_chunk():
    scenario, turns = _scenario_and_turns()
    setup = [Line(kind="npc", speaker="Captain Ilse Marrow", text=scenario.prologue)]
    prompt = chunk_prompt(scenario, setup, turns, 21, 25)
    assert "Turn 18" in prompt and "Turn 17" not in prompt  # three turns of context
    assert "# Transcript to score: turns 21 to 25" in prompt and "Turn 25" in prompt
    assert scenario.prologue not in prompt
    assert "storm-glass" in prompt  # the setup's world facts are there for the judge
    first = chunk_prompt(scenario, setup, turns, 1, 20)
    assert scenario.prologue in first and "[NPC] Captain Ilse Marrow: *grins* Reply number 1, kid." in first


async def test_invalid_twice_is_unscored_valid_after_retry_is_scored():
    model = ScriptedModel()
    judge = Judge(model, load_rubrics())
    model.enqueue("the chunk looks fine", "still no json")
    verdict = await judge.judge("worlds_logic", "prompt", ["Reply number 3, kid."])
    assert verdict.status == "unscored" and verdict.score is None and verdict.attempts == 2
    assert verdict.error and verdict.error.startswith("invalid judge answer twice: no JSON object")
    assert not verdict.retryable
    retry = model.calls[1].messages
    assert retry[-2] == ChatMessage("assistant", "the chunk looks fine") and retry[-1] == ChatMessage("user", REMINDER)
    assert model.calls[0].options.json_mode and model.calls[0].options.temperature == 0.0

    model.enqueue("nope", '{"findings": [{"quote": "reply NUMBER 3", "problem": "x"}, {"quote": "invented", "problem": "y"}], "score": 61}')
    verdict = await judge.judge("stories_diversity", "prompt", ["*grins* Reply number 3, kid."])
    assert verdict.status == "scored" and verdict.score == 61 and verdict.attempts == 2
    assert [f.quote_found for f in verdict.findings] == [True, False]


async def test_unreachable_judge_is_unscored_and_retryable():
    model = ScriptedModel()
    model.enqueue(Unavailable())
    verdict = await Judge(model, load_rubrics()).judge("worlds_basics", "prompt", [])
    assert verdict.status == "unscored" and verdict.retryable and verdict.score is None
    assert "judge model unavailable" in (verdict.error or "")


def test_judge_options_are_deterministic():
    judge = Judge(ScriptedModel(), load_rubrics())
    assert judge.options == ChatOptions(max_tokens=1500, temperature=0.0, json_mode=True)
