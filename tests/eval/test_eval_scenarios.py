"""Scenario files and Role-Play Bench seeds: both formats load; every error names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SCENARIO, SEEDS

from bot.content.loader import Library
from bot.eval.scenarios import ScenarioError, Style, check_unique, load_scenario_file, load_seed_file

SEED = {
    "id": 7,
    "ai_name": "Mara Quill",
    "ai_setting": "Mara is a tired night-shift nurse. She talks fast and teases people she likes.",
    "user_name": "Jo",
    "user_setting": "You are Jo, a patient who cannot sleep.",
    "ai_prologue": "*Mara taps the clipboard.* Awake again, Jo?",
    "initial_user_input": "I counted the ceiling tiles. Twice.",
    "extra_field": "published records may carry more keys",
}


def test_shipped_scenario_loads_against_the_content(library: Library):
    scenario = load_scenario_file(SCENARIO, library)
    assert scenario.id == "harbor-newcomer"
    assert scenario.world.id == "harbor" and scenario.cast_names == ["Mira Salt", "Old Tom Gannet"]
    assert scenario.style == Style(activity="active", pacing="slow")
    assert scenario.user_name == "Wren" and scenario.opening.startswith("*Wren climbs")
    assert scenario.prologue_speaker == "old-tom"
    # Ensemble's copy of the cast knows the persona; the authored card (for the baseline) is untouched.
    assert "Wren" in scenario.library.characters["mira"].scenario
    assert "Wren" not in scenario.cards[0].scenario


def test_shipped_seeds_become_a_world_and_a_character():
    scenarios = load_seed_file(SEEDS)
    assert len(scenarios) == 3
    languages = {s.id: s.language for s in scenarios}
    assert languages == {"seed-sample-en-01": "en", "seed-sample-zh-01": "zh", "seed-sample-en-02": "en"}
    zh = next(s for s in scenarios if s.language == "zh")
    character = zh.cast[0]
    assert character.name == "沈青梧" and zh.world.cast == [character.id]
    assert len(zh.world.locations) == 1 and zh.world.name.startswith("沈青梧")
    assert character.voice.samples[0].character == zh.prologue
    assert "说话" in character.voice.style
    assert zh.user_name == "苏小满" and zh.user_persona.startswith("你是苏小满")
    assert zh.opening.startswith("*我把一篮子")
    check_unique(scenarios)


def test_seed_json_array_and_object_forms(tmp_path: Path):
    array = tmp_path / "seeds.json"
    array.write_text(json.dumps([SEED, {**SEED, "id": "8"}]), encoding="utf-8")
    assert [s.id for s in load_seed_file(array, Style.parse("passive-fast"))] == ["seed-7", "seed-8"]
    assert load_seed_file(array)[0].style.label == "active-slow"
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"seeds": [SEED]}), encoding="utf-8")
    assert load_seed_file(wrapped)[0].cast[0].name == "Mara Quill"
    single = tmp_path / "single.json"
    single.write_text(json.dumps(SEED), encoding="utf-8")
    assert load_seed_file(single)[0].style.label == "active-slow"


def test_seed_errors_name_file_line_and_field(tmp_path: Path):
    broken = {k: v for k, v in SEED.items() if k != "ai_setting"}
    path = tmp_path / "seeds.jsonl"
    path.write_text(json.dumps(SEED) + "\n\n" + json.dumps(broken) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_seed_file(path)
    assert caught.value.user_message == f"{path}:3: ai_setting: required field is missing"

    path.write_text(json.dumps({**SEED, "ai_name": ""}) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"^{path}:1: ai_name: "):
        load_seed_file(path)

    path.write_text('{"id": 1,\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"^{path}:1: invalid JSON"):
        load_seed_file(path)

    array = tmp_path / "seeds.json"
    array.write_text(json.dumps([SEED, {**SEED, "user_name": None}]), encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"^{array}\[1\]: user_name: "):
        load_seed_file(array)

    with pytest.raises(ScenarioError, match="no such file"):
        load_seed_file(tmp_path / "missing.jsonl")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
world: harbor
cast: [mira]
user: {name: Ann, persona: A traveller.}
opening: Hello?
"""


def test_scenario_errors_name_file_and_field(tmp_path: Path, library: Library):
    path = _write(tmp_path, GOOD)
    assert load_scenario_file(path, library).id == "scenario"

    path = _write(tmp_path, GOOD + "pacing: fast\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario_file(path, library)
    assert caught.value.user_message == f"{path}: pacing: unknown field (check the spelling)"

    path = _write(tmp_path, GOOD.replace("persona: A traveller.", "persona: ''"))
    with pytest.raises(ScenarioError, match=rf"^{path}: user.persona: "):
        load_scenario_file(path, library)

    path = _write(tmp_path, GOOD + "style: {activity: sleepy}\n")
    with pytest.raises(ScenarioError, match=rf"^{path}: style.activity: "):
        load_scenario_file(path, library)

    path = _write(tmp_path, GOOD.replace("world: harbor", "world: atlantis"))
    with pytest.raises(ScenarioError, match=rf"^{path}: world: unknown world 'atlantis'"):
        load_scenario_file(path, library)

    path = _write(tmp_path, GOOD.replace("cast: [mira]", "cast: [mira, lin-wan]"))
    with pytest.raises(ScenarioError, match=rf"^{path}: cast\[1\]: 'lin-wan' is not in the cast of world 'harbor'"):
        load_scenario_file(path, library)

    path = _write(tmp_path, GOOD + "prologue: {speaker: pip, text: Hi}\n")
    with pytest.raises(ScenarioError, match=rf"^{path}: prologue.speaker: "):
        load_scenario_file(path, library)

    path = _write(tmp_path, "world: [unclosed\n")
    with pytest.raises(ScenarioError, match=rf"^{path}:\d+: not valid YAML"):
        load_scenario_file(path, library)


def test_duplicate_ids_and_styles(library: Library):
    scenario = load_scenario_file(SCENARIO, library)
    with pytest.raises(ScenarioError, match="id: 'harbor-newcomer' is already used"):
        check_unique([scenario, scenario])
    assert Style.parse("fast-passive") == Style(activity="passive", pacing="fast")
    with pytest.raises(ValueError):
        Style.parse("active")
