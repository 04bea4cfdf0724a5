"""What prompts say about space: "here" is only the same place, earshot says where, the players' place is stated."""

from __future__ import annotations

from engine.conftest import WORLD, character

from bot.content.models import Location
from bot.engine.lines import InboundLine
from bot.memory.prompting import PresentCharacter, TurnContext, turn_instruction


def said(key, text):
    return InboundLine(key, "u1", "Ann", text)


def _tail(call) -> str:
    return call.messages[-1].content


async def test_here_and_earshot_are_told_apart_in_every_prompt(engine, key, model):
    """Ann and Ada in the garden, Bram in the orchard (voices carry): each prompt places the others truly."""
    await engine.summon(key, "Ada", "garden")
    await engine.summon(key, "Bram", "orchard")
    await engine.go(key, "garden", "Ann")
    model.enqueue("Ada answers.", "Bram answers.")
    await engine.handle(said(key, "Ada and Bram, can you both hear me?"))
    prompts = {call.speaker: _tail(call) for call in model.calls}
    ada, bram = prompts["Ada"], prompts["Bram"]

    assert "Nobody else is here." in ada and "Here with you" not in ada
    assert "Within earshot but not here" in ada and "Bram" in ada.split("Within earshot")[1].split("\n")[0]
    assert "at Orchard" in ada.split("Within earshot")[1].split("\n")[0]
    assert "Ann; they are here with you." in ada

    assert "Within earshot but not here" in bram and "Ada" in bram.split("Within earshot")[1].split("\n")[0]
    assert "at Garden" in bram.split("Within earshot")[1].split("\n")[0]
    assert "Ann; they are at Garden, within earshot but not here." in bram
    assert "Here with you" not in bram


async def test_someone_in_the_same_place_is_here(engine, key, model):
    await engine.summon(key, "Ada")
    await engine.summon(key, "Bram")
    model.enqueue("Ada answers.")
    await engine.handle(said(key, "Ada, hello."))
    tail = _tail(model.calls[-1])
    assert "Here with you: Bram" in tail and "Within earshot" not in tail
    assert "Ann; they are here with you." in tail


def test_turn_instruction_states_places():
    """The pure text: same place as "here", audible neighbours with their place, players out of earshot."""
    garden = Location.model_validate({"id": "garden", "name": "Garden", "description": "Wet roses."})
    ctx = TurnContext(
        location=garden,
        present=[PresentCharacter("Bram", mood="calm"), PresentCharacter("Lin", place="Orchard")],
        mood_label="calm",
        mood_intensity=0.4,
        user_names=["Ann", "Ben"],
        players_place="Great Hall",
        players_in_earshot=False,
    )
    text = turn_instruction(character("ada", "Ada"), WORLD, ctx)
    assert "Here with you: Bram (calm)." in text
    assert "Within earshot but not here (you hear each other, you cannot see or touch them): Lin at Orchard." in text
    assert "Players in the scene (never write for them): Ann, Ben; they are at Great Hall, out of earshot." in text


async def test_arriving_narration_names_who_is_within_earshot(engine, key):
    """Walking into the garden: nobody is there, but Bram in the orchard can be heard, and the narrator says so."""
    await engine.summon(key, "Bram", "orchard")
    moved = await engine.go(key, "garden", "Ann")
    assert [n.text for n in moved.narrations] == [
        "Ann goes from Great Hall to Garden. Nobody from the story is here. Within earshot: Bram (Orchard)."
    ]
