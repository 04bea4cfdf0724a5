"""A server's story as a whole: bind it to a world (``/world setup``) and forget it (``/world reset``).

Both replace what every scene of the server stands on, so they hold the gates of all the server's
worlds (``WorldGate.replace_server``): no turn, tick or rewind commits halfway through, and whatever was
in flight when the story was replaced is refused at its commit instead of failing on a vanished scene
or continuing its chain in the reopened one. Front ends only translate: the Discord adapter asks for a
confirmation and renders the sentence; the decisions and their order live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.engine.lines import SceneKey
from bot.errors import Refused
from bot.i18n import sentences, tr

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine


@dataclass(frozen=True, slots=True)
class ServerReset:
    """What a reset did: scenes forgotten, and the role-play channels reopened (empty) in the bound world."""

    forgotten: int
    reopened: int

    def sentence(self, language: str | None = None) -> str:
        """What the reset did, in ``language`` (the server's world's); no word on channels when none reopened."""
        reopened = tr(language, "reset.reopened", n=self.reopened) if self.reopened else ""
        return sentences(language, tr(language, "reset.forgotten", n=self.forgotten), reopened)


async def _server_worlds(engine: SceneEngine, guild_id: str) -> set[str]:
    """Every world a server has state in (its scenes' and its binding's): the gates a reset must hold."""
    worlds = {s.world_id for s in await engine.store.list_scenes(guild_id)}
    bound = await engine.store.server_world(guild_id)
    if bound:
        worlds.add(bound)
    return worlds | await engine.store.worlds_with_state(guild_id)


async def _stop_background(engine: SceneEngine, scene_ids: set[int]) -> None:
    """Summaries of the scenes being forgotten must not write into them afterwards."""
    await engine.memory_upkeep.cancel(*scene_ids)
    for scene_id in scene_ids:
        engine.forget_scene_caches(scene_id)


async def _replace(engine: SceneEngine, guild_id: str, world_id: str | None) -> ServerReset:
    """Inside the gates: forget every scene, state and event of the server, reopen the enabled channels."""
    store = engine.store
    scenes = await store.list_scenes(guild_id)
    await _stop_background(engine, {s.id for s in scenes})
    enabled = [s.channel_id for s in scenes if s.enabled]
    await store.reset_server(guild_id)
    if world_id is not None:
        await store.bind_server(guild_id, world_id)
    bound = await store.server_world(guild_id)
    reopened = 0
    if bound and bound in engine.library.worlds:
        world = engine.world(bound)
        for channel_id in enabled:
            await engine.open_scene_held(SceneKey(guild_id, channel_id), world)
            reopened += 1
    return ServerReset(len(scenes), reopened)


async def reset_server(engine: SceneEngine, guild_id: str) -> ServerReset:
    """Forget every scene, NPC state and event of the server; enabled channels start over, empty.

    The binding and the server's imported characters stay.
    """
    async with engine.gate.replace_server(guild_id, await _server_worlds(engine, guild_id)):
        return await _replace(engine, guild_id, None)


async def setup_server(engine: SceneEngine, guild_id: str, world_id: str) -> None:
    """Bind the server to a world. Moving to another world is refused while a story is under way there
    (a reset comes first); an unplayed server moves over, its enabled channels reopened in the new world."""
    world = engine.world(world_id)
    store = engine.store
    current = await store.server_world(guild_id)
    if current is None or current == world.id:
        async with engine.gate.hold(guild_id, world.id):
            await store.bind_server(guild_id, world.id)
        return
    async with engine.gate.replace_server(guild_id, {world.id} | await _server_worlds(engine, guild_id)):
        for scene in await store.list_scenes(guild_id):
            if await store.recent_messages(scene.id, 1):
                old = engine.library.worlds.get(current)
                language = old.language if old else world.language  # the story under way is told in its world's
                raise Refused(tr(language, "world.under_way", world=old.name if old else current))
        await _replace(engine, guild_id, world.id)


__all__ = ["ServerReset", "reset_server", "setup_server"]
