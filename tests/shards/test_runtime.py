"""The composed runtime of a sharded process: leases taken on entry, kept by heartbeats, released on exit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.core.ports import FakeClock
from bot.errors import StoreError
from bot.shards.plan import ShardPlan
from bot.shards.runtime import shard_runtime
from bot.store.database import open_database


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_leases_are_held_inside_and_released_on_exit(tmp_path: Path):
    clock = FakeClock()
    target = str(tmp_path / "shared.db")
    async with shard_runtime(target, ShardPlan(2, (0, 1)), clock=clock, holder="p1", sleep=no_wait) as runtime:
        assert runtime.owns_guild(0 << 22) and runtime.owns_guild(1 << 22)
        assert runtime.lost_error() is None
        runtime.lost.append(1)
        error = runtime.lost_error()
        assert error is not None and "shard 1" in error.user_message and "\n" not in error.user_message
        runtime.lost.clear()
    db = await open_database(target)
    try:
        rows = await db.fetch_all("SELECT shard_id, expires_at FROM shard_leases ORDER BY shard_id")
        assert [r["shard_id"] for r in rows] == [0, 1]
        assert all(r["expires_at"] <= clock.now().timestamp() for r in rows), "released: the next process need not wait"
    finally:
        await db.close()


async def test_a_database_user_that_may_not_create_tables_is_one_sentence(pg_url: str):
    """PostgreSQL 15 lets only the owner create tables in the public schema: a plain role cannot migrate."""
    admin = await open_database(pg_url)
    try:
        await admin.execute("DROP ROLE IF EXISTS weakling")
        await admin.execute("CREATE ROLE weakling LOGIN PASSWORD 'secret-pw'")
    finally:
        await admin.close()
    parts = urlsplit(pg_url)
    weak = urlunsplit(parts._replace(netloc=f"weakling:secret-pw@{parts.hostname}:{parts.port}"))
    try:
        with pytest.raises(StoreError) as caught:
            async with shard_runtime(weak, ShardPlan(1, (0,)), clock=FakeClock(), sleep=no_wait):
                pass
        message = caught.value.user_message
        assert "DATABASE_URL" in message and "secret-pw" not in message and "weakling:***@" in message
    finally:
        admin = await open_database(pg_url)
        try:
            await admin.execute("DROP ROLE IF EXISTS weakling")
        finally:
            await admin.close()
