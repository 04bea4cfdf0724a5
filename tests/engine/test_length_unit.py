"""The live guard counts a Chinese world's reply length in characters, the unit its prompt asks for;
an English world's in words."""

from __future__ import annotations

import random

from engine.conftest import WORLD, character

from bot.content.loader import Library
from bot.content.models import World
from bot.engine.lines import InboundLine, SceneKey
from bot.engine.scene import SceneEngine
from bot.quality.text import char_count, word_count
from bot.testing.scripted_model import ScriptedModel


def world(language: str, max_words: int) -> World:
    data = WORLD.model_dump()
    data["language"] = language
    data["settings"]["reply_length"] = {"min_words": 5, "max_words": max_words}
    return World.model_validate(data)


async def reply_of(store, clock, world: World, text: str, line: str) -> str:
    model = ScriptedModel()
    library = Library(characters={"lin": character("lin", "Lin")}, worlds={"manor": world})
    engine = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1))
    key = SceneKey("guild-1", "channel-1")
    await engine.open_scene(key, "manor")
    await engine.summon(key, "Lin")
    model.enqueue(text)
    [reply] = (await engine.handle(InboundLine(key, "u1", "Ann", line))).utterances
    return reply.text.strip()


async def test_a_chinese_reply_over_the_target_in_characters_is_trimmed(store, clock) -> None:
    kept = "*Lin望了一眼窗外的海面。*"
    text = kept + "“今晚风大，船都回港了。明天一早再来找我吧。”"
    assert word_count(text) <= 30 < char_count(text), "within the target in words, over it in characters"
    assert await reply_of(store, clock, world("zh", 30), text, "Lin，今晚还出海吗？") == kept


async def test_an_english_reply_is_still_counted_in_words(store, clock) -> None:
    text = '*Lin glances out at the harbour.* "Boats are all in tonight. Come back at dawn."'
    assert word_count(text) <= 16 < char_count(text)
    assert await reply_of(store, clock, world("en", 16), text, "Lin, sailing tonight?") == text
