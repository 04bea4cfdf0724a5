"""A small world built in code, so engine tests do not move when shipped content is edited."""

from __future__ import annotations

import random

import pytest

from bot.content.loader import Library
from bot.content.models import Character, World
from bot.engine.lines import SceneKey
from bot.engine.scene import SceneEngine
from bot.testing.scripted_model import ScriptedModel


def character(cid: str, name: str, *, talk: float = 0.5, start: str = "hall", aliases=()) -> Character:
    return Character.model_validate(
        {
            "id": cid,
            "name": name,
            "aliases": list(aliases),
            "description": f"{name} lives in the manor.",
            "personality": "curious",
            "voice": {
                "style": f"{name}'s own clipped style",
                "samples": [{"user": "Hello?", "character": f"{name} nods. 'Hello.'"}],
            },
            "talkativeness": talk,
            "start_location": start,
        }
    )


WORLD = World.model_validate(
    {
        "id": "manor",
        "name": "The Manor",
        "description": "An old manor on a hill.",
        "rules": ["Nobody can pass a locked door without its key."],
        "locations": [
            {"id": "hall", "name": "Great Hall", "description": "A cold hall.", "exits": ["garden", {"to": "cellar", "locked": True}]},
            {"id": "garden", "name": "Garden", "description": "Wet roses.", "exits": [{"to": "orchard", "audible": True}]},
            {"id": "orchard", "name": "Orchard", "description": "Apple trees.", "aliases": ["the apples"]},
            {"id": "cellar", "name": "Cellar", "description": "Dark and damp."},
        ],
        "cast": ["ada", "bram", "lin"],
        "event_seeds": [{"text": "A stranger knocks at the manor gate, soaked and frightened."}],
        # Chains are off here so that each test sees exactly the turn it drives; chain tests turn them on.
        "settings": {"chain_cap": 0},
    }
)


@pytest.fixture
def library() -> Library:
    return Library(
        characters={
            "ada": character("ada", "Ada", talk=0.8),
            "bram": character("bram", "Bram", talk=0.2, aliases=["the cook"]),
            "lin": character("lin", "林晚", talk=0.5, aliases=["阿晚"]),
        },
        worlds={"manor": WORLD},
    )


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def key() -> SceneKey:
    return SceneKey("guild-1", "channel-1")


@pytest.fixture
async def engine(store, library, model, clock, key) -> SceneEngine:
    built = SceneEngine(store=store, model=model, library=library, clock=clock, rng=random.Random(1))
    await built.open_scene(key, "manor")
    return built
