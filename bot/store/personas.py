"""Players' personas per server, and whether a server re-posts players' lines under them.

A repository beside ``Store`` (same connection, same write lock). A persona belongs to a player on a
server, not to a scene or a world: it survives ``/world reset`` the way the player's Discord name does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.store.store import Store


@dataclass(frozen=True, slots=True)
class PersonaRow:
    """Who a player is in the story: the name characters use, a description, an optional face."""

    user_id: str
    name: str
    description: str
    avatar_url: str | None = None


class PersonaStore:
    """Reads and writes of ``personas`` and ``persona_options``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, guild_id: str, user_id: str) -> PersonaRow | None:
        row = await self.store.fetch_one(
            "SELECT user_id, name, description, avatar_url FROM personas WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return PersonaRow(*row) if row else None

    async def many(self, guild_id: str, user_ids: Iterable[str]) -> dict[str, PersonaRow]:
        """The personas of these players (those without one are absent)."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self.store.fetch_all(
            f"SELECT user_id, name, description, avatar_url FROM personas WHERE guild_id = ? AND user_id IN ({marks})",
            (guild_id, *ids),
        )
        return {r[0]: PersonaRow(*r) for r in rows}

    async def put(self, guild_id: str, persona: PersonaRow) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO personas (guild_id, user_id, name, description, avatar_url, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, user_id) DO UPDATE SET name = excluded.name, description = excluded.description,"
                " avatar_url = excluded.avatar_url, updated_at = excluded.updated_at",
                (guild_id, persona.user_id, persona.name, persona.description, persona.avatar_url, self.store.now()),
            )

    async def clear(self, guild_id: str, user_id: str) -> bool:
        """Forget a player's persona; False when there was none."""
        async with self.store.transaction() as conn:
            return bool(await conn.execute("DELETE FROM personas WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)))

    async def repost(self, guild_id: str) -> bool:
        """Whether the server's admins turned on re-posting players' lines under their personas (off by default)."""
        row = await self.store.fetch_one("SELECT repost FROM persona_options WHERE guild_id = ?", (guild_id,))
        return bool(row[0]) if row else False

    async def set_repost(self, guild_id: str, enabled: bool) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO persona_options (guild_id, repost, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET repost = excluded.repost, updated_at = excluded.updated_at",
                (guild_id, int(enabled), self.store.now()),
            )
