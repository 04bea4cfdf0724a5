"""Servers, their scenes and who is in each scene: the rows every other query starts from.

Why a module of its own: a scene is reached only through the guild id of the caller (``get_scene``), and
every query of scene data goes through the scene id found here, so this is where one server's rows are
kept apart from another's. A server's binding to a world, and its reset (which forgets its scenes and
its world's state but keeps the binding and imported characters), are decided here as well.

Part of ``Store`` (``store.scenes``): reads on the store's reader, writes in its ``transaction()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.store.database import Database, OpenGuildTransaction, OpenTransaction, Row
from bot.store.query import Query
from bot.store.records import SceneRow

SCENE_COLUMNS = "id, guild_id, channel_id, world_id, user_location, enabled, paused"


def scene_row(row: Any) -> SceneRow:
    """A ``SceneRow`` from a row of ``SCENE_COLUMNS``."""
    return SceneRow(
        id=row[0],
        guild_id=row[1],
        channel_id=row[2],
        world_id=row[3],
        user_location=row[4],
        enabled=bool(row[5]),
        paused=bool(row[6]),
    )


def _first_column(rows: list[Row]) -> list[Any]:
    return [r[0] for r in rows]


class Scenes:
    """Reads and writes of ``servers``, ``scenes`` and ``scene_members``."""

    def __init__(
        self, *, reader: Database, now: Callable[[], str], transaction: OpenTransaction, guild_transaction: OpenGuildTransaction
    ) -> None:
        self._reader = reader
        self._now = now
        self._transaction = transaction
        self._guild_transaction = guild_transaction

    # -- servers ---------------------------------------------------------------------------------

    async def server_world(self, guild_id: str) -> str | None:
        row = await self._reader.fetch_one("SELECT world_id FROM servers WHERE guild_id = ?", (guild_id,))
        return row[0] if row else None

    async def bind_server(self, guild_id: str, world_id: str) -> None:
        """Bind a server to a world (replacing an earlier binding)."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO servers (guild_id, world_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET world_id = excluded.world_id",
                (guild_id, world_id, self._now()),
            )

    async def reset_server(self, guild_id: str) -> None:
        """Forget every scene, NPC state and event of a server (its binding and imported characters stay)."""
        async with self._guild_transaction(guild_id) as conn:
            await conn.execute("DELETE FROM world_checkpoints WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM events WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM npc_state WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM scenes WHERE guild_id = ?", (guild_id,))

    async def worlds_with_state(self, guild_id: str) -> set[str]:
        """The worlds a server has NPC state in (a reset holds all their gates)."""
        rows = await self._reader.fetch_all("SELECT DISTINCT world_id FROM npc_state WHERE guild_id = ?", (guild_id,))
        return {r[0] for r in rows}

    # -- scenes ----------------------------------------------------------------------------------

    async def get_scene(self, guild_id: str, channel_id: str) -> SceneRow | None:
        row = await self._reader.fetch_one(
            f"SELECT {SCENE_COLUMNS} FROM scenes WHERE guild_id = ? AND channel_id = ?",
            (guild_id, channel_id),
        )
        return scene_row(row) if row else None

    async def scene_by_id(self, scene_id: int) -> SceneRow | None:
        row = await self._reader.fetch_one(f"SELECT {SCENE_COLUMNS} FROM scenes WHERE id = ?", (scene_id,))
        return scene_row(row) if row else None

    async def create_scene(
        self, guild_id: str, channel_id: str, world_id: str, user_location: str
    ) -> SceneRow:
        """Create the scene of a channel, or return the existing one unchanged."""
        async with self._transaction() as conn:
            await conn.execute(
                "INSERT INTO scenes (guild_id, channel_id, world_id, user_location, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, channel_id) DO NOTHING",
                (guild_id, channel_id, world_id, user_location, self._now()),
            )
        scene = await self.get_scene(guild_id, channel_id)
        assert scene is not None
        return scene

    async def list_scenes(self, guild_id: str) -> list[SceneRow]:
        rows = await self._reader.fetch_all(
            f"SELECT {SCENE_COLUMNS} FROM scenes WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [scene_row(r) for r in rows]

    async def update_scene(
        self,
        scene_id: int,
        *,
        user_location: str | None = None,
        enabled: bool | None = None,
        paused: bool | None = None,
    ) -> None:
        sets: list[str] = []
        params: list[Any] = []
        for column, value in (("user_location", user_location), ("enabled", enabled), ("paused", paused)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        if not sets:
            return
        async with self._transaction() as conn:
            await conn.execute(f"UPDATE scenes SET {', '.join(sets)} WHERE id = ?", (*params, scene_id))

    async def active_worlds(self, since: str) -> list[tuple[str, str]]:
        """(guild, world) pairs whose scenes had a human line since ``since`` (ISO time)."""
        rows = await self._reader.fetch_all(
            "SELECT DISTINCT s.guild_id, s.world_id FROM scenes s JOIN messages m ON m.scene_id = s.id"
            " WHERE m.kind = 'user' AND m.created_at >= ? ORDER BY s.guild_id, s.world_id",
            (since,),
        )
        return [(r[0], r[1]) for r in rows]

    async def latest_active_scene(self, guild_id: str, world_id: str) -> SceneRow | None:
        """The enabled scene of a server's world with the most recent human line (for "Meanwhile...")."""
        row = await self._reader.fetch_one(
            f"SELECT {', '.join('s.' + c.strip() for c in SCENE_COLUMNS.split(','))} FROM scenes s"
            " JOIN messages m ON m.scene_id = s.id WHERE s.guild_id = ? AND s.world_id = ? AND s.enabled = 1"
            " AND s.paused = 0 AND m.kind = 'user' ORDER BY m.id DESC LIMIT 1",
            (guild_id, world_id),
        )
        return scene_row(row) if row else None

    # -- members ---------------------------------------------------------------------------------

    async def members(self, scene_id: int) -> list[str]:
        return await self.members_query(scene_id).run(self._reader)

    def members_query(self, scene_id: int) -> Query[list[str]]:
        return Query(
            "SELECT character_id FROM scene_members WHERE scene_id = ? ORDER BY joined_at, character_id", (scene_id,), _first_column
        )

    async def add_member(self, scene_id: int, character_id: str) -> bool:
        """Add a character to a scene; False when it was already there."""
        async with self._transaction() as conn:
            added = await conn.execute(
                "INSERT INTO scene_members (scene_id, character_id, joined_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (scene_id, character_id, self._now()),
            )
            return added > 0
