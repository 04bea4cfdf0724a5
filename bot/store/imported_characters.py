"""Characters a server imported into its cast of a world (``/character import``): kept across restarts.

Why a module of its own: an imported character is content kept in the database rather than in the
content folders, scoped to one server; the engine loads them all at start-up and adds each to its server's
cast. A server's reset keeps them, like its binding to a world.

Part of ``Store`` (``store.imported_characters``): reads on the store's reader, writes in its ``transaction()``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.store.database import Database, OpenTransaction


class ImportedCharacters:
    """Reads and writes of ``guild_characters``."""

    def __init__(self, *, reader: Database, now: Callable[[], str], transaction: OpenTransaction) -> None:
        self._reader = reader
        self._now = now
        self._transaction = transaction

    async def save_guild_character(self, guild_id: str, world_id: str, character_id: str, data: str) -> None:
        """Store (or replace) a character one server imported into its cast of a world."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_characters (guild_id, world_id, character_id, data, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, character_id) DO UPDATE SET world_id = excluded.world_id, data = excluded.data",
                (guild_id, world_id, character_id, data, self._now()),
            )

    async def guild_characters(self) -> list[tuple[str, str, str]]:
        """Every imported character: (guild, world, the character as JSON), oldest first."""
        rows = await self._reader.fetch_all("SELECT guild_id, world_id, data FROM guild_characters ORDER BY created_at, character_id")
        return [(r[0], r[1], r[2]) for r in rows]
