"""Reads and writes behind preference exports: NPC lines with several alternatives, and players' opt-outs.

Everything is scoped by server (``guild_id``): the queries never join across servers, so an export
for one server cannot include another's lines, and an opt-out on one server says nothing about another.
"""

from __future__ import annotations

import json
from typing import Any

from bot.quality.preferences import Alternative, SwipedLine
from bot.store.store import Store


async def set_opt_out(store: Store, guild_id: str, user_id: str, opted_out: bool) -> None:
    """Record (or withdraw) a player's opt-out of preference exports on one server."""
    async with store.transaction() as conn:
        if opted_out:
            await conn.execute(
                "INSERT INTO privacy_optouts (guild_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (guild_id, user_id, store.now()),
            )
        else:
            await conn.execute("DELETE FROM privacy_optouts WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))


async def opted_out(store: Store, guild_id: str) -> frozenset[str]:
    """The players of ``guild_id`` who opted out."""
    rows = await store.fetch_all("SELECT user_id FROM privacy_optouts WHERE guild_id = ?", (guild_id,))
    return frozenset(r[0] for r in rows)


async def guilds(store: Store) -> list[str]:
    """Every server with a scene in this database."""
    rows = await store.fetch_all("SELECT DISTINCT guild_id FROM scenes ORDER BY guild_id")
    return [r[0] for r in rows]


async def swiped_lines(store: Store, guild_id: str, channel_id: str | None = None) -> list[SwipedLine]:
    """Settled NPC lines of one server (optionally one scene) with at least two alternatives, in story order."""
    sql = (
        "SELECT m.id, s.guild_id, m.scene_id, s.channel_id, s.world_id, m.character_id, m.speaker, m.created_at"
        " FROM messages m JOIN scenes s ON s.id = m.scene_id"
        " WHERE s.guild_id = ? AND m.kind = 'npc' AND m.settled = 1 AND m.character_id IS NOT NULL"
        " AND (SELECT COUNT(*) FROM swipes w WHERE w.message_id = m.id) > 1"
    )
    params: list[Any] = [guild_id]
    if channel_id is not None:
        sql += " AND s.channel_id = ?"
        params.append(channel_id)
    sql += " ORDER BY m.scene_id, m.id"
    out = []
    for row in await store.fetch_all(sql, params):
        swipes = await store.fetch_all(
            "SELECT idx, text, kept, prompt, created_at FROM swipes WHERE message_id = ? ORDER BY idx", (row[0],)
        )
        authors = await store.fetch_all(
            "SELECT DISTINCT author_id FROM messages WHERE scene_id = ? AND kind IN ('user', 'ooc')"
            " AND id <= ? AND author_id IS NOT NULL",
            (row[2], row[0]),
        )
        out.append(
            SwipedLine(
                message_id=row[0], guild_id=row[1], scene_id=row[2], channel_id=row[3], world_id=row[4],
                character_id=row[5], speaker=row[6], created_at=row[7],
                alternatives=tuple(
                    Alternative(s[0], s[1], bool(s[2]), json.loads(s[3]) if s[3] else None, s[4]) for s in swipes
                ),
                players=frozenset(a[0] for a in authors),
            )
        )
    return out
