"""Prompt texts: the static part is byte-identical, holds rules, card and voice; macros and {{original}}."""

from __future__ import annotations

from engine.conftest import WORLD, character

from bot.memory.prompting import (
    PresentCharacter,
    TurnContext,
    sample_messages,
    static_system_prompt,
    substitute_macros,
    turn_instruction,
)


def turn(mood: str = "calm") -> TurnContext:
    return TurnContext(
        location=WORLD.location("hall"),
        present=[PresentCharacter("Bram", mood="grumpy")],
        mood_label=mood,
        mood_intensity=0.4,
        user_names=["Ann"],
    )


def test_static_part_does_not_change_with_the_turn():
    """The system prompt and samples depend on the card and world only; the turn text carries the mood."""
    ada = character("ada", "Ada")
    assert static_system_prompt(ada, WORLD) == static_system_prompt(ada, WORLD)
    assert sample_messages(ada) == sample_messages(ada)
    assert turn_instruction(ada, WORLD, turn("calm")) != turn_instruction(ada, WORLD, turn("furious"))
    assert "Bram (grumpy)" in turn_instruction(ada, WORLD, turn())


def test_system_prompt_holds_world_rules_card_and_voice():
    """The NPC is told the world's rules, its own voice, and to write only as itself."""
    system = static_system_prompt(character("ada", "Ada"), WORLD)
    assert "Nobody can pass a locked door" in system
    assert "Ada's own clipped style" in system
    assert "Write only as Ada" in system and "never speak for them" in system


def test_card_system_prompt_wraps_original():
    """A card's system_prompt replaces the default rules, with {{original}} standing for them."""
    ada = character("ada", "Ada").model_copy(update={"system_prompt": "Be terse. {{original}}"})
    assert "Be terse. Write only as Ada" in static_system_prompt(ada, WORLD)


def test_samples_are_m2_her_sample_messages():
    roles = [(m.role, m.name) for m in sample_messages(character("ada", "Ada"))]
    assert roles == [("sample_message_user", "User"), ("sample_message_ai", "Ada")]


def test_macros_are_substituted():
    assert substitute_macros("{{char}} greets {{user}}; {{Char}}", char="Ada", user="Ann") == "Ada greets Ann; Ada"
