"""The outbox: lines to post, written in the same transaction as the turn that produced them.

What players see and what characters remember come from the same committed rows: a line is committed
with its outbox row, delivered by a poster afterwards (never while a lock is held), marked posted, or,
after the poster gave up, marked failed, and then it is no longer part of what anyone heard (its
``heard_by`` emptied, its facts dropped, out of the memory index, the message flagged ``undelivered``). Pending rows survive a
restart. Rows go with their message (foreign key), so a rewind or reset takes unposted lines along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.store.store import Store


@dataclass(frozen=True, slots=True)
class OutboxLine:
    """One line waiting to be posted, with what a front end needs to render it."""

    id: int
    scene_id: int
    world_id: str
    guild_id: str
    channel_id: str
    message_id: int
    kind: str
    speaker: str
    character_id: str | None
    text: str
    swipe_index: int
    swipe_count: int
    attempts: int


class OutboxStore:
    """Repository over the ``outbox`` table (see the ``one_world`` migration)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _fetchall(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return await self.store.fetch_all(sql, params)

    async def pending(self, guild_id: str, channel_id: str, limit: int = 20) -> list[OutboxLine]:
        """The channel's lines not yet posted, oldest first."""
        rows = await self._fetchall(
            "SELECT o.id, o.scene_id, s.world_id, o.guild_id, o.channel_id, o.message_id, m.kind, m.speaker, m.character_id,"
            " m.text, m.active_swipe, (SELECT COUNT(*) FROM swipes w WHERE w.message_id = m.id), o.attempts"
            " FROM outbox o JOIN messages m ON m.id = o.message_id JOIN scenes s ON s.id = o.scene_id"
            " WHERE o.guild_id = ? AND o.channel_id = ? AND o.status = 'pending' ORDER BY o.id LIMIT ?",
            (guild_id, channel_id, limit),
        )
        return [
            OutboxLine(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], int(r[10]), max(1, int(r[11])), int(r[12]))
            for r in rows
        ]

    async def channels_with_pending(self) -> list[tuple[str, str]]:
        """(guild, channel) pairs with lines waiting: what a poster resumes after a restart."""
        rows = await self._fetchall(
            "SELECT DISTINCT guild_id, channel_id FROM outbox WHERE status = 'pending' ORDER BY guild_id, channel_id", ()
        )
        return [(r[0], r[1]) for r in rows]

    async def mark_posted(self, line_id: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET status = 'posted', attempts = attempts + 1, done_at = ? WHERE id = ?",
                (self.store.now(), line_id),
            )

    async def mark_attempt(self, line_id: int, error: str) -> int:
        """One more failed attempt; returns how many there were."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error[:500], line_id)
            )
        rows = await self._fetchall("SELECT attempts FROM outbox WHERE id = ?", (line_id,))
        return int(rows[0][0]) if rows else 0

    async def mark_failed(self, line_id: int, error: str) -> None:
        """Given up: nobody saw the line, so nobody remembers it (call inside the world's gate)."""
        async with self.store.transaction() as conn:
            found = await conn.fetch_value("SELECT message_id FROM outbox WHERE id = ?", (line_id,))
            if found is None:
                return  # rewound or reset meanwhile: the line is gone anyway
            message_id = int(found)
            await conn.execute(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, done_at = ? WHERE id = ?",
                (error[:500], self.store.now(), line_id),
            )
            await conn.execute("UPDATE messages SET undelivered = 1, heard_by = '[]' WHERE id = ?", (message_id,))
            await conn.execute("DELETE FROM facts WHERE message_id = ?", (message_id,))
            await self.store.memory.forget_line(conn, message_id)

    async def status_of(self, message_id: int) -> str | None:
        rows = await self._fetchall("SELECT status FROM outbox WHERE message_id = ?", (message_id,))
        return rows[0][0] if rows else None


__all__ = ["OutboxLine", "OutboxStore"]
