"""What the simulator and the baseline send: persona, style, who is who, full or recent history."""

from __future__ import annotations

from conftest import SCENARIO, SEEDS

from bot.content.loader import Library
from bot.eval.baseline import BASELINE_MARKER, baseline_messages, speaker_label
from bot.eval.records import Line
from bot.eval.scenarios import Style, load_scenario_file, load_seed_file
from bot.eval.simulator import (
    HISTORY_LINES,
    SIMULATOR_MARKER,
    clean_user_line,
    simulator_messages,
    style_text,
)


def _story(n: int) -> list[Line]:
    lines = [Line(kind="npc", speaker="Old Tom Gannet", text="Evening, young'un!")]
    for i in range(n):
        lines.append(Line(kind="user", speaker="Wren", text=f"user {i}"))
        lines.append(Line(kind="narration", speaker="The Fog", text=f"fog {i}"))
        lines.append(Line(kind="npc", speaker="Mira Salt", text=f"mira {i}"))
    return lines


def test_simulator_plays_the_user_from_the_users_side(library: Library):
    scenario = load_scenario_file(SCENARIO, library)
    messages = simulator_messages(scenario, _story(2))
    system = messages[0].content
    assert system.startswith(SIMULATOR_MARKER) and "you play Wren" in system
    assert scenario.user_persona.split(".")[0] in system and "Mira Salt:" in system
    assert style_text(Style(activity="active", pacing="slow")) in system
    assert [(m.role, m.content) for m in messages[1:5]] == [
        ("user", "Old Tom Gannet: Evening, young'un!"),
        ("assistant", "user 0"),
        ("user", "[The Fog] fog 0"),
        ("user", "Mira Salt: mira 0"),
    ]
    assert messages[-1].role == "system" and messages[-1].content == "Write Wren's next message now, and only that."
    long = simulator_messages(scenario, _story(100))
    assert len(long) == HISTORY_LINES + 2 and long[-2].content == "Mira Salt: mira 99"


def test_styles_change_the_prompt(library: Library):
    scenario = load_seed_file(SEEDS)[0]
    passive_fast = style_text(Style(activity="passive", pacing="fast"))
    assert "You mostly follow" in passive_fast and "Fast plot" in passive_fast
    assert style_text(Style()) != passive_fast
    first = simulator_messages(scenario, [])
    assert first[-1].content.startswith("The story begins.")


def test_simulator_output_is_cleaned():
    others = ["Mira Salt", "Mira"]
    assert clean_user_line("Wren: *waves* Hello!", "Wren", others) == "*waves* Hello!"
    assert clean_user_line("*waves* Hello!\nMira Salt: Hello yourself.", "Wren", others) == "*waves* Hello!"
    assert clean_user_line("**Wren**： 你好", "Wren", others) == "你好"
    assert clean_user_line("Mira: hi", "Wren", others) == "Mira: hi"  # a label at the very start is the user's words


def test_baseline_is_one_prompt_with_card_persona_and_full_history(library: Library):
    scenario = load_scenario_file(SCENARIO, library)
    messages = baseline_messages(scenario, _story(60))
    system = messages[0].content
    assert system.startswith(BASELINE_MARKER) and "Mira Salt and Old Tom Gannet" in system
    assert "# Wren (the user)" in system and "Example dialogue:" in system and "Tidecraft is the only magic" in system
    assert "The player character" not in system  # the authored cards, the persona once in its own section
    assert [m.role for m in messages[1:5]] == ["assistant", "user", "assistant", "user"]
    assert messages[2].content == "user 0" and messages[3].content == "fog 0\n\nmira 0"
    assert len(messages) == 1 + 1 + 60 * 2  # nothing is cut
    assert speaker_label(scenario) == "Mira Salt & Old Tom Gannet"
    seed = load_seed_file(SEEDS)[1]
    assert speaker_label(seed) == "沈青梧" and baseline_messages(seed, [])[0].content.endswith("用中文回复。")
