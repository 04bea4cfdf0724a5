"""Totals over the whole database for ``stats``: model usage, and the guards' quality counters.

Why a module of its own: these are the operator's figures, read rarely and across every server (or one),
never on a turn's path; the rows themselves are written by a turn's commit (``Turns``) and, for calls
outside a turn, by ``bot.store.usage``.

Part of ``Store`` (``store.totals``): reads only, on the store's reader.
"""

from __future__ import annotations

from typing import Any

from bot.store.database import Database


class Totals:
    """Sums of ``model_usage`` and ``quality_counts``."""

    def __init__(self, *, reader: Database) -> None:
        self._reader = reader

    async def quality_counts(self, guild_id: str | None = None) -> dict[str, dict[str, int]]:
        """Per detector, its counters summed (over one server's rows, or every server's)."""
        sql = "SELECT detector, counter, SUM(n) FROM quality_counts"
        params: tuple[Any, ...] = ()
        if guild_id is not None:
            sql += " WHERE guild_id = ?"
            params = (guild_id,)
        rows = await self._reader.fetch_all(sql + " GROUP BY detector, counter ORDER BY detector, counter", params)
        result: dict[str, dict[str, int]] = {}
        for detector, counter, n in rows:
            result.setdefault(detector, {})[counter] = int(n)
        return result

    async def usage_totals(self) -> dict[str, int]:
        row = await self._reader.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            " COALESCE(SUM(cached_tokens), 0) FROM model_usage"
        )
        return {
            "calls": int(row[0]),
            "prompt_tokens": int(row[1]),
            "completion_tokens": int(row[2]),
            "cached_tokens": int(row[3]),
        }
