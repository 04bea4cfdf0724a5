"""Prompt layout: stability order, a byte-identical static part, macros, one voice per character."""

from __future__ import annotations

from bot.engine.prompting import HistoryLine, PresentCharacter, TurnContext, build_npc_messages, substitute_macros
from tests.engine.conftest import WORLD, character


def turn(mood: str = "calm") -> TurnContext:
    return TurnContext(
        location=WORLD.location("hall"),
        present=[PresentCharacter("Bram", mood="grumpy")],
        mood_label=mood,
        mood_intensity=0.4,
        user_names=["Ann"],
    )


def test_layout_is_in_stability_order():
    """System, scene, samples first; history next; the per-turn director note last."""
    ada = character("ada", "Ada")
    messages = build_npc_messages(
        ada, WORLD, scene_name="Manor", history=[HistoryLine("Ann", "hi"), HistoryLine("Ada", "yes", own=True)], turn=turn()
    )
    roles = [m.role for m in messages]
    assert roles == ["system", "group", "sample_message_user", "sample_message_ai", "user", "assistant", "system"]
    assert messages[-1].name == "director"
    assert messages[4].name == "Ann"


def test_static_prefix_is_byte_identical_across_turns():
    """What never changes stays identical when mood, place and history change."""
    ada = character("ada", "Ada")
    one = build_npc_messages(ada, WORLD, scene_name="Manor", history=[HistoryLine("Ann", "a")], turn=turn("calm"))
    two = build_npc_messages(
        ada, WORLD, scene_name="Manor", history=[HistoryLine("Ann", "a"), HistoryLine("Ann", "b")], turn=turn("furious")
    )
    assert one[:4] == two[:4]
    assert one[-1] != two[-1]


def test_system_prompt_holds_world_rules_card_and_voice():
    """The NPC is told the world's rules, its own voice, and to write only as itself."""
    system = build_npc_messages(character("ada", "Ada"), WORLD, scene_name="M", history=[], turn=turn())[0].content
    assert "Nobody can pass a locked door" in system
    assert "Ada's own clipped style" in system
    assert "Write only as Ada" in system and "never speak for them" in system


def test_card_system_prompt_wraps_original():
    """A card's system_prompt replaces the default rules, with {{original}} standing for them."""
    ada = character("ada", "Ada").model_copy(update={"system_prompt": "Be terse. {{original}}"})
    system = build_npc_messages(ada, WORLD, scene_name="M", history=[], turn=turn())[0].content
    assert "Be terse. Write only as Ada" in system


def test_macros_are_substituted():
    assert substitute_macros("{{char}} greets {{user}}; {{Char}}", char="Ada", user="Ann") == "Ada greets Ann; Ada"
