"""What the engine's composed services may ask of the engine itself, as narrow protocols.

The services of ``bot.engine`` (the commands, pacing, memory upkeep) each own their state and get their
collaborators (store, library, gate, ...) in their constructors. A few things only the engine can do:
find a channel's scene and its world, hand out a scene's lock, say where everyone is, and the turn
primitives (record a turn, write an NPC reply, render an utterance). A service is given the engine
typed as one of these protocols, so its constructor says which of them it uses, and it never reaches
into the engine's private state. ``SceneEngine`` satisfies all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.content.models import Character, World
    from bot.engine.lines import SceneKey, Utterance
    from bot.engine.scene import Generated
    from bot.store.records import FactRecord, MessageRow, NewEvent, NewMessage, NpcStateRow, SceneRow
    from bot.world.narrator import Spatial


class Worlds(Protocol):
    """The worlds of the library, by id."""

    def world(self, world_id: str) -> World:
        """The world, or ``NotFound`` with a message for the user."""
        ...


class Scenes(Worlds, Protocol):
    """A channel's scene, its lock, and who is where in it."""

    async def require_scene(self, key: SceneKey) -> SceneRow:
        """The channel's scene, or ``NotFound``."""
        ...

    def lock(self, scene_id: int) -> asyncio.Lock:
        """The lock that keeps one scene's turns in order."""
        ...

    async def spatial(self, scene: SceneRow, states: dict[str, NpcStateRow]) -> Spatial:
        """Where the players and the scene's members are."""
        ...

    async def states_and_spatial(self, scene: SceneRow) -> tuple[dict[str, NpcStateRow], Spatial]:
        """The world's NPC states and ``spatial`` of them, in one read."""
        ...


class Turns(Scenes, Protocol):
    """The turn primitives a command needs besides the scene: record a turn, write and show an NPC reply,
    and the pieces the store takes to apply an alternative of one."""

    async def record(
        self,
        scene: SceneRow,
        messages: Sequence[NewMessage],
        events: Sequence[NewEvent],
        generation: int,
        user_location: str | None = None,
        *,
        join: Sequence[str] = (),
        leave: Sequence[str] = (),
    ) -> tuple[int, list[int]]:
        """A turn without an inbound line or a model call, committed through the world's gate."""
        ...

    async def generate(
        self,
        scene: SceneRow,
        world: World,
        character: Character,
        spatial: Spatial,
        states: dict[str, NpcStateRow],
        *,
        before_id: int | None = None,
    ) -> Generated:
        """One NPC reply, cleaned and guarded (``ModelUnavailable`` when there is none)."""
        ...

    def utterance(self, message_id: int, character: Character, text: str, idx: int = 0, count: int = 1) -> Utterance:
        """An NPC line as a front end renders it."""
        ...

    def alternative_effects(
        self, spatial: Spatial, states: dict[str, NpcStateRow], message: MessageRow, text: str
    ) -> tuple[list[NewEvent], tuple[FactRecord, ...]]:
        """What a new alternative of an NPC line would do to the world."""
        ...

    def replay_states(
        self, world: World, guild_id: str
    ) -> Callable[[dict[str, NpcStateRow] | None, list[dict[str, Any]]], dict[str, NpcStateRow]]:
        """How the store rebuilds a world's NPC states."""
        ...

    def settle_planned(self, fresh: dict[str, NpcStateRow], planned: list[NewEvent]) -> tuple[list[NewEvent], list[NpcStateRow]]:
        """Planned events settled against fresh states, in the shape the store calls it with."""
        ...


__all__ = ["Scenes", "Turns", "Worlds"]
