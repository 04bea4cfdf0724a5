"""The map of a scene: who is where, gathered from the store, drawn off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.engine.lines import SceneKey
from bot.world.worldmap import MapScene, render_png

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine

RECENT_LINES = 40


async def scene_map(engine: SceneEngine, key: SceneKey, players: Sequence[str] = ()) -> MapScene:
    """Where the scene's characters and the players are; ``players`` default to those who spoke lately."""
    scene = await engine.require_scene(key)
    _, spatial = await engine.states_and_spatial(scene)
    people: dict[str, list[str]] = {}
    for member in spatial.members:
        people.setdefault(spatial.npc_locations[member], []).append(spatial.names[member])
    if not players:
        recent = await engine.store.recent_messages(scene.id, RECENT_LINES)
        players = sorted({row.speaker for row in recent if row.kind == "user"})
    return MapScene(spatial.world, spatial.user_location, tuple(players), people)


async def render_scene_map(engine: SceneEngine, key: SceneKey, players: Sequence[str] = ()) -> bytes:
    """The scene's map as PNG bytes, drawn in a worker thread so other scenes' turns go on meanwhile."""
    return await asyncio.to_thread(render_png, await scene_map(engine, key, players))
