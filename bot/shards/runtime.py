"""A sharded process's coordination, composed: the shared database, the leases kept alive, the IDENTIFY gate.

``python -m bot run`` with ``SHARD_COUNT`` set opens this around the bot: the database named by
``DATABASE_URL`` (or the SQLite file at ``DATABASE_PATH``, which several processes on one machine can
share), migrated; every planned shard's lease taken (waiting out a dead predecessor's lease) before the
gateway connects; heartbeats in a task; the leases released on a clean exit, so a replacement starts at
once instead of after the TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.core.ports import Clock
from bot.errors import EnsembleError, StoreError
from bot.shards.leases import (
    DEFAULT_TTL,
    IdentifyGate,
    ShardFence,
    ShardKeeper,
    ShardLeases,
    Sleep,
    process_holder,
)
from bot.shards.plan import ShardPlan
from bot.store.database import Database, open_database, redacted
from bot.store.migrate import migrate_database


class ShardLost(EnsembleError):
    """Another process took over one of this process's shards: this one stops rather than run it twice."""


@dataclass
class ShardRuntime:
    plan: ShardPlan
    db: Database
    keeper: ShardKeeper
    identify: IdentifyGate
    target: str = ""
    lost: list[int] = field(default_factory=list)

    def owns_guild(self, guild_id: int | str) -> bool:
        return self.keeper.owns_guild(guild_id)

    def fence_for(self, store_target: str) -> ShardFence:
        """The write fence for a store at ``store_target`` (the same database as the leases, or not)."""
        return ShardFence(self.keeper, same_database=store_target == self.target)

    def lost_error(self) -> ShardLost | None:
        if not self.lost:
            return None
        shards = ", ".join(str(s) for s in sorted(self.lost))
        return ShardLost(
            f"This process lost the lease of shard {shards} (it could not renew it in time and another process "
            "took over): it stopped so that no server is handled twice; start it again to take the shards it can."
        )


@asynccontextmanager
async def shard_runtime(
    target: str,
    plan: ShardPlan,
    *,
    clock: Clock,
    holder: str | None = None,
    ttl: float = DEFAULT_TTL,
    sleep: Sleep = asyncio.sleep,
) -> AsyncIterator[ShardRuntime]:
    """Open the shared database, take the plan's leases and keep them until the block ends."""
    db = await open_database(target)
    try:
        try:
            await migrate_database(db)
        except EnsembleError:
            raise
        except Exception as exc:  # asyncpg's or sqlite3's own error: one sentence instead of a traceback
            raise StoreError(
                f"Cannot prepare the shared database {redacted(target)} for shard leases ({type(exc).__name__}: {exc}): "
                "check that DATABASE_URL's user may create tables there.",
                detail=repr(exc),
            ) from exc
        who = holder or process_holder()
        keeper = ShardKeeper(ShardLeases(db, holder=who, clock=clock, ttl=ttl), plan, sleep=sleep)
        runtime = ShardRuntime(plan, db, keeper, IdentifyGate(db, holder=who, clock=clock, sleep=sleep), target=target)
        keeper.on_lost = runtime.lost.append
        await keeper.acquire_all()
        beating = asyncio.create_task(keeper.run(), name="shard-heartbeat")
        try:
            yield runtime
        finally:
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
            with contextlib.suppress(Exception):  # unreleased leases simply run out after the TTL
                await keeper.release_all()
    finally:
        await db.close()
