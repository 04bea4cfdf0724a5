"""Model usage by server and the limits admins set: the rows behind budgets, ``/limits`` and ``stats``.

A repository beside ``Store`` (same connection, same write lock): usage of calls made outside a turn,
token sums per server since a time, and per-server overrides of the operator's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.store.store import Store


@dataclass(frozen=True, slots=True)
class GuildLimitRow:
    """A server's own limits; ``None`` means the operator's default."""

    lines_per_minute: int | None = None
    tokens_per_day: int | None = None


class UsageStore:
    """Reads and writes of ``model_usage`` (by server) and ``guild_limits``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(
        self, guild_id: str, purpose: str, model: str, prompt_tokens: int, completion_tokens: int,
        cached_tokens: int, latency_ms: float, created_at: str,
    ) -> None:
        """One call outside a turn's commit (the narrator, director, summaries)."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO model_usage (guild_id, turn_id, purpose, model, prompt_tokens, completion_tokens,"
                " cached_tokens, latency_ms, created_at) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, purpose, model, prompt_tokens, completion_tokens, cached_tokens, latency_ms, created_at),
            )

    async def tokens_since(self, guild_id: str, since: str) -> int:
        """Prompt plus completion tokens a server used since ``since`` (ISO time)."""
        row = await self._one(
            "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM model_usage"
            " WHERE guild_id = ? AND created_at >= ?",
            (guild_id, since),
        )
        return int(row[0])

    async def by_purpose(self, guild_id: str | None, since: str | None = None) -> dict[str, dict[str, int]]:
        """Calls and tokens per purpose (npc, guard, narrator, director, summary), for ``stats``."""
        sql = (
            "SELECT purpose, COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0)"
            " FROM model_usage WHERE 1 = 1"
        )
        params: list[Any] = []
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(since)
        rows = await self.store.fetch_all(sql + " GROUP BY purpose ORDER BY purpose", params)
        return {r[0]: {"calls": int(r[1]), "prompt_tokens": int(r[2]), "completion_tokens": int(r[3])} for r in rows}

    async def guilds_since(self, since: str) -> list[str]:
        rows = await self.store.fetch_all(
            "SELECT DISTINCT guild_id FROM model_usage WHERE guild_id IS NOT NULL AND created_at >= ? ORDER BY guild_id",
            (since,),
        )
        return [r[0] for r in rows]

    async def guild_limits(self, guild_id: str) -> GuildLimitRow:
        row = await self._one("SELECT lines_per_minute, tokens_per_day FROM guild_limits WHERE guild_id = ?", (guild_id,))
        return GuildLimitRow(*row) if row else GuildLimitRow()

    async def all_guild_limits(self) -> dict[str, GuildLimitRow]:
        rows = await self.store.fetch_all("SELECT guild_id, lines_per_minute, tokens_per_day FROM guild_limits ORDER BY guild_id")
        return {r[0]: GuildLimitRow(r[1], r[2]) for r in rows}

    async def set_guild_limits(self, guild_id: str, limits: GuildLimitRow, updated_at: str) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_limits (guild_id, lines_per_minute, tokens_per_day, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET lines_per_minute = excluded.lines_per_minute,"
                " tokens_per_day = excluded.tokens_per_day, updated_at = excluded.updated_at",
                (guild_id, limits.lines_per_minute, limits.tokens_per_day, updated_at),
            )

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return await self.store.fetch_one(sql, params)
