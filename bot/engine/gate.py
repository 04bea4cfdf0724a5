"""The one gate every change to a world passes: one serialization point per (server, world).

NPCs live in the world, not in a scene: several channels of a server, the director's timer and an
admin's rewind or reset all change the same states. Every path that writes world state (turns in any
channel, chain reactions, director ticks, rewind, reset, setup, character import) holds the gate of
that (server, world) while it commits, and only while it commits: model calls happen before, outside,
so a slow model never stalls the other channels of the world.

A reset replaces a server's story while turns may be waiting for the model. Each operation notes the
server's generation when it starts; the gate refuses its commit (``StaleWorld``) if a reset happened
since, so an in-flight turn neither fails on a vanished scene nor continues its chain in the freshly
reopened one.

Lock order, always: a scene's lock (a channel's turns in order), then this gate, then the store's write
transaction. Nothing takes them the other way round, so they cannot deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager

from bot.errors import EnsembleError


class StaleWorld(EnsembleError):
    """The server's story was reset while this operation was under way; what it produced is dropped."""

    def __init__(self) -> None:
        super().__init__("The story was reset while this was under way; it was not kept.")


class WorldGate:
    """Per (server, world) locks and a per-server generation that a reset advances."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._generations: dict[str, int] = {}

    def generation(self, guild_id: str) -> int:
        """The server's generation now: note it before reading, check it when committing."""
        return self._generations.get(guild_id, 0)

    def _lock(self, guild_id: str, world_id: str) -> asyncio.Lock:
        return self._locks.setdefault((guild_id, world_id), asyncio.Lock())

    def busy(self, guild_id: str, world_id: str) -> bool:
        """Whether something is committing to this world right now (for tests and diagnostics)."""
        return self._lock(guild_id, world_id).locked()

    @asynccontextmanager
    async def hold(self, guild_id: str, world_id: str, *, generation: int | None = None) -> AsyncIterator[None]:
        """Hold the world's gate; with ``generation``, refuse if the server was reset since it was noted."""
        async with self._lock(guild_id, world_id):
            if generation is not None and generation != self.generation(guild_id):
                raise StaleWorld()
            yield

    @asynccontextmanager
    async def replace_server(self, guild_id: str, world_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold every listed world of a server (in a fixed order) to replace its story: reset, setup.

        When the block succeeds the generation advances, before any gate is released: whatever noted
        the old generation is refused from then on. A block that raises (a refused setup) changes nothing.
        """
        async with AsyncExitStack() as stack:
            for world_id in sorted(set(world_ids)):
                await stack.enter_async_context(self._lock(guild_id, world_id))
            yield
            self._generations[guild_id] = self.generation(guild_id) + 1


__all__ = ["StaleWorld", "WorldGate"]
