"""What the Discord adapter persists: channel webhooks, notices already given, and where lines were posted.

Contract: every method takes the guild id and every query filters on it, so a server can only ever read
or change its own rows. Writes go through ``Store.transaction()`` (serialised with the engine's writers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.store import Store


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One Discord message of a posted line."""

    platform_message_id: int
    channel_id: int
    main_message_id: int
    position: int
    webhook_id: int | None


class WebhookStore:
    """Repository over the ``discord_*`` tables (see ``migrations/0002_discord.sql``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat()

    async def _fetchall(self, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        return [tuple(row) for row in await self.store.fetch_all(sql, params)]

    # -- webhooks --------------------------------------------------------------------------------

    async def webhook_id(self, guild_id: int, channel_id: int) -> int | None:
        rows = await self._fetchall(
            "SELECT webhook_id FROM discord_webhooks WHERE guild_id = ? AND channel_id = ?",
            (str(guild_id), str(channel_id)),
        )
        return int(str(rows[0][0])) if rows else None

    async def save_webhook(self, guild_id: int, channel_id: int, webhook_id: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO discord_webhooks (guild_id, channel_id, webhook_id, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, channel_id) DO UPDATE SET webhook_id = excluded.webhook_id,"
                " created_at = excluded.created_at",
                (str(guild_id), str(channel_id), str(webhook_id), self._now()),
            )

    async def forget_webhook(self, guild_id: int, channel_id: int) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "DELETE FROM discord_webhooks WHERE guild_id = ? AND channel_id = ?",
                (str(guild_id), str(channel_id)),
            )

    # -- notices to admins -----------------------------------------------------------------------

    async def first_notice(self, guild_id: int, channel_id: int, kind: str) -> bool:
        """Record that admins were told about ``kind`` here; True only the first time."""
        async with self.store.transaction() as conn:
            added = await conn.execute(
                "INSERT INTO discord_notices (guild_id, channel_id, kind, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (str(guild_id), str(channel_id), kind, self._now()),
            )
            return added > 0

    async def clear_notices(self, guild_id: int, channel_id: int) -> None:
        """The problem is fixed (a webhook works again): a new problem will be reported again."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "DELETE FROM discord_notices WHERE guild_id = ? AND channel_id = ?",
                (str(guild_id), str(channel_id)),
            )

    # -- posts -----------------------------------------------------------------------------------

    async def record_post(
        self, guild_id: int, channel_id: int, parts: Sequence[tuple[int, int | None]]
    ) -> None:
        """The messages one line was posted as, in order, each with the webhook that posted it (None: the
        bot itself); the last is the main (button) message."""
        if not parts:
            return
        main = parts[-1][0]
        async with self.store.transaction() as conn:
            for position, (message_id, webhook_id) in enumerate(parts):
                await conn.execute(
                    "INSERT INTO discord_posts (platform_message_id, guild_id, channel_id, main_message_id,"
                    " position, webhook_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (platform_message_id) DO NOTHING",
                    (
                        str(message_id),
                        str(guild_id),
                        str(channel_id),
                        str(main),
                        position,
                        None if webhook_id is None else str(webhook_id),
                        self._now(),
                    ),
                )

    async def post_of(self, guild_id: int, platform_message_id: int) -> list[PostRecord]:
        """All messages of the line that ``platform_message_id`` belongs to (any chunk), in order."""
        rows = await self._fetchall(
            "SELECT p.platform_message_id, p.channel_id, p.main_message_id, p.position, p.webhook_id"
            " FROM discord_posts p WHERE p.guild_id = ? AND p.main_message_id = ("
            "  SELECT main_message_id FROM discord_posts WHERE guild_id = ? AND platform_message_id = ?)"
            " ORDER BY p.position",
            (str(guild_id), str(guild_id), str(platform_message_id)),
        )
        return [
            PostRecord(
                platform_message_id=int(str(r[0])),
                channel_id=int(str(r[1])),
                main_message_id=int(str(r[2])),
                position=int(str(r[3])),
                webhook_id=None if r[4] is None else int(str(r[4])),
            )
            for r in rows
        ]

    async def main_message_id(self, guild_id: int, platform_message_id: int) -> int | None:
        """The main message of the line a message belongs to (itself if it is not a recorded chunk)."""
        rows = await self._fetchall(
            "SELECT main_message_id FROM discord_posts WHERE guild_id = ? AND platform_message_id = ?",
            (str(guild_id), str(platform_message_id)),
        )
        return int(str(rows[0][0])) if rows else None

    async def drop_posts(self, guild_id: int, platform_message_ids: Sequence[int]) -> None:
        async with self.store.transaction() as conn:
            for message_id in platform_message_ids:
                await conn.execute(
                    "DELETE FROM discord_posts WHERE guild_id = ? AND platform_message_id = ?",
                    (str(guild_id), str(message_id)),
                )

    async def forget_guild_posts(self, guild_id: int) -> None:
        """After a world reset: the lines those messages belonged to no longer exist."""
        async with self.store.transaction() as conn:
            await conn.execute("DELETE FROM discord_posts WHERE guild_id = ?", (str(guild_id),))
