"""Shard leases and the IDENTIFY gate in the shared database, through the ``Database`` port.

The decisions are ``bot.shards.plan``'s; this module reads the rows, applies a decision and checks it
landed. Every change is a compare-and-set (``INSERT ... ON CONFLICT DO NOTHING``, ``UPDATE ... WHERE
token = ?``) inside a transaction, so two processes racing for the same shard cannot both win: on SQLite
``BEGIN IMMEDIATE`` serialises them, on PostgreSQL a transaction-scoped advisory lock does (and the
compare-and-set would catch a race even without it). Time comes from an injected clock (Unix seconds of
``clock.now()``) and waiting from an injected ``sleep``, so tests run a lease's whole life instantly.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog

from bot.core.ports import Clock
from bot.errors import ConfigError
from bot.shards.plan import (
    IDENTIFY_WINDOW,
    Lease,
    Refuse,
    ShardPlan,
    Take,
    Wait,
    decide_acquire,
    identify_bucket,
    identify_wait,
    renewal_due,
    shard_of,
)
from bot.store.database import Database
from bot.store.fencing import FenceCheck, Fenced

log = structlog.get_logger("shards")

# pg_advisory_xact_lock keys (two-int form: class, object), any fixed numbers of our own.
LEASE_LOCK_CLASS = 0x456E74
IDENTIFY_LOCK_CLASS = 0x456E75
DEFAULT_TTL = 30.0

Sleep = Callable[[float], Awaitable[None]]


def process_holder() -> str:
    """A holder id unique to this process: host, pid and a random part (a restarted pid is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _lease(row) -> Lease:
    return Lease(int(row["shard_id"]), int(row["shard_count"]), row["holder"], int(row["token"]), float(row["expires_at"]))


class ShardLeases:
    """Take, renew, release and check shard leases for one holder."""

    def __init__(self, db: Database, *, holder: str, clock: Clock, ttl: float = DEFAULT_TTL) -> None:
        self.db = db
        self.holder = holder
        self.clock = clock
        self.ttl = ttl

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def try_acquire(self, shard_id: int, shard_count: int) -> Take | Wait | Refuse:
        """One attempt to own ``shard_id``: the lease taken (or kept), whom to wait for, or why not at all."""
        now = self.now()
        async with self.db.transaction() as tx:
            if tx.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(?, 0)", (LEASE_LOCK_CLASS,))
            rows = [_lease(r) for r in await tx.fetch_all("SELECT shard_id, shard_count, holder, token, expires_at FROM shard_leases")]
            current = next((r for r in rows if r.shard_id == shard_id), None)
            live_counts = {r.shard_count for r in rows if r.expires_at > now and r.holder != self.holder}
            decision = decide_acquire(
                current, live_counts, shard_id=shard_id, shard_count=shard_count, holder=self.holder, now=now, ttl=self.ttl
            )
            if not isinstance(decision, Take):
                return decision
            lease = decision.lease
            if decision.replaces is None:
                changed = await tx.execute(
                    "INSERT INTO shard_leases (shard_id, shard_count, holder, token, expires_at, heartbeat_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (shard_id) DO NOTHING",
                    (lease.shard_id, lease.shard_count, lease.holder, lease.token, lease.expires_at, now),
                )
            else:
                changed = await tx.execute(
                    "UPDATE shard_leases SET shard_count = ?, holder = ?, token = ?, expires_at = ?, heartbeat_at = ?"
                    " WHERE shard_id = ? AND token = ?",
                    (lease.shard_count, lease.holder, lease.token, lease.expires_at, now, lease.shard_id, decision.replaces),
                )
        if changed != 1:  # someone else got there between our read and our write
            return Wait("another process", 0.0)
        return decision

    async def renew(self, lease: Lease) -> Lease | None:
        """Push the lease's expiry forward; ``None`` when it was lost (taken over: the token moved on)."""
        now = self.now()
        expires = now + self.ttl
        changed = await self.db.execute(
            "UPDATE shard_leases SET expires_at = ?, heartbeat_at = ? WHERE shard_id = ? AND holder = ? AND token = ?",
            (expires, now, lease.shard_id, self.holder, lease.token),
        )
        if changed != 1:
            return None
        return Lease(lease.shard_id, lease.shard_count, lease.holder, lease.token, expires)

    async def release(self, lease: Lease) -> None:
        """Give the shard up now (clean shutdown): the next process need not wait for the expiry."""
        await self.db.execute(
            "UPDATE shard_leases SET expires_at = ? WHERE shard_id = ? AND holder = ? AND token = ?",
            (self.now(), lease.shard_id, self.holder, lease.token),
        )

    async def still_held(self, tx: Database, lease: Lease) -> bool:
        """The fencing check, inside the caller's transaction: is the lease still ours and unexpired?

        On PostgreSQL the row is locked ``FOR SHARE`` until the caller commits, so a takeover (an UPDATE of
        the row) waits for the write being fenced instead of slipping in before its commit.
        """
        lock = " FOR SHARE" if tx.dialect == "postgresql" else ""
        row = await tx.fetch_one(
            f"SELECT expires_at FROM shard_leases WHERE shard_id = ? AND holder = ? AND token = ?{lock}",
            (lease.shard_id, self.holder, lease.token),
        )
        return row is not None and float(row[0]) > self.now()


class ShardKeeper:
    """Owns the leases of this process's shards: takes them at start, keeps them, reports losing one.

    ``owns_guild`` is what the rest of the bot asks ("is this server mine?"): true only for servers of a
    shard whose lease is held right now, so a lost lease stops scenes, director ticks and outbox for its
    servers at once.
    """

    def __init__(
        self,
        leases: ShardLeases,
        plan: ShardPlan,
        *,
        sleep: Sleep = asyncio.sleep,
        on_lost: Callable[[int], None] | None = None,
        poll: float = 2.0,
    ) -> None:
        self.leases = leases
        self.plan = plan
        self.sleep = sleep
        self.on_lost = on_lost
        # A waiting process looks again this often: it notices a clean stop's release within ``poll`` seconds.
        self.poll = poll
        self.held: dict[int, Lease] = {}

    def owns_guild(self, guild_id: int | str) -> bool:
        """A held lease that has not run out by our own clock: when heartbeats cannot reach the database,
        the process stops acting for the shard at the expiry, when another process may take it over."""
        try:
            shard = shard_of(guild_id, self.plan.shard_count)
        except ValueError:
            return False  # not a Discord server id (a terminal scene's 'local'): no shard of ours
        lease = self.held.get(shard)
        return lease is not None and self.leases.now() < lease.expires_at

    async def acquire_all(self) -> None:
        """Take every planned shard, waiting out live leases of other holders (a killed process's lease
        runs out after its TTL); a ``Refuse`` is a ``ConfigError`` sentence."""
        for shard_id in self.plan.shard_ids:
            while shard_id not in self.held:
                decision = await self.leases.try_acquire(shard_id, self.plan.shard_count)
                if isinstance(decision, Take):
                    self.held[shard_id] = decision.lease
                    log.info("shard.acquired", shard=shard_id, token=decision.lease.token, holder=self.leases.holder)
                elif isinstance(decision, Refuse):
                    raise ConfigError(decision.reason)
                else:
                    log.info("shard.waiting", shard=shard_id, held_by=decision.holder, retry_in=round(decision.retry_in, 1))
                    await self.sleep(min(max(decision.retry_in, 0.05), self.poll))

    async def heartbeat(self) -> list[int]:
        """Renew the leases that are due; return the shards whose lease was lost (and stop owning them)."""
        lost = []
        now = self.leases.now()
        for shard_id, lease in list(self.held.items()):
            if not renewal_due(lease, now, self.leases.ttl):
                continue
            renewed = await self.leases.renew(lease)
            if renewed is None:
                del self.held[shard_id]
                lost.append(shard_id)
                log.error("shard.lease_lost", shard=shard_id, token=lease.token, holder=self.leases.holder)
                if self.on_lost is not None:
                    self.on_lost(shard_id)
            else:
                self.held[shard_id] = renewed
        return lost

    async def run(self) -> None:
        """Heartbeat until cancelled (a third of the TTL apart)."""
        while True:
            await self.sleep(self.leases.ttl / 3)
            try:
                await self.heartbeat()
            except Exception:  # the database hiccuped: the next beat tries again while the lease lasts
                log.warning("shard.heartbeat_failed", exc_info=True)

    async def release_all(self) -> None:
        for lease in list(self.held.values()):
            await self.leases.release(lease)
        self.held.clear()


class ShardFence:
    """The store's ``WriteFence`` for a sharded process: a turn commits only under a lease still held.

    ``same_database``: the leases live in the store's own database (the SQLite file without
    ``DATABASE_URL``): the check runs inside the store's write transaction, where a takeover cannot commit
    before it does (SQLite's write lock, or the lease row locked ``FOR SHARE`` on PostgreSQL). Otherwise
    (leases in PostgreSQL, the story in SQLite) the lease row is locked ``FOR SHARE`` in a transaction of
    the lease database that stays open until the store's transaction has committed: a takeover's UPDATE of
    the row waits for that commit, so it never lands between the check and the write.
    """

    def __init__(self, keeper: ShardKeeper, *, same_database: bool) -> None:
        self.keeper = keeper
        self.same_database = same_database

    def _lease(self, guild_id: str) -> Lease:
        if not self.keeper.owns_guild(guild_id):
            raise self._fenced(guild_id)
        return self.keeper.held[shard_of(guild_id, self.keeper.plan.shard_count)]

    def _fenced(self, guild_id: str, shard: int | None = None) -> Fenced:
        if shard is None and guild_id.isdigit():
            shard = shard_of(guild_id, self.keeper.plan.shard_count)
        log.warning("shard.fenced", shard=shard, guild=guild_id, holder=self.keeper.leases.holder)
        which = f"shard {shard}" if shard is not None else "any shard"
        return Fenced(
            f"This process does not hold the lease of {which} (server {guild_id}): "
            "the write was refused so that only the process that owns the server writes its story."
        )

    @asynccontextmanager
    async def hold(self, guild_id: str) -> AsyncIterator[FenceCheck]:
        lease = self._lease(guild_id)
        leases = self.keeper.leases

        async def check_in(tx: Database) -> None:
            if not await leases.still_held(tx, lease):
                raise self._fenced(guild_id, lease.shard_id)

        if self.same_database:
            yield check_in
            return
        async with leases.db.transaction() as lease_tx:
            await check_in(lease_tx)

            async def checked(tx: Database) -> None:
                return None  # held above: the lease row stays locked until this block ends

            yield checked


class IdentifyGate:
    """At most ``max_concurrency`` IDENTIFYs per 5 s for the whole bot, whichever process sends them."""

    def __init__(
        self, db: Database, *, holder: str, clock: Clock, sleep: Sleep = asyncio.sleep, window: float = IDENTIFY_WINDOW
    ) -> None:
        self.db = db
        self.holder = holder
        self.clock = clock
        self.sleep = sleep
        self.window = window

    async def wait_turn(self, shard_id: int, max_concurrency: int) -> float:
        """Wait for the shard's bucket to be free, claim its slot; return the seconds waited."""
        bucket = identify_bucket(shard_id, max_concurrency)
        waited = 0.0
        while True:
            now = self.clock.now().timestamp()
            async with self.db.transaction() as tx:
                if tx.dialect == "postgresql":
                    await tx.execute("SELECT pg_advisory_xact_lock(?, ?)", (IDENTIFY_LOCK_CLASS, bucket))
                wait = identify_wait(
                    await tx.fetch_value("SELECT next_free_at FROM identify_buckets WHERE bucket = ?", (bucket,)), now
                )
                if wait == 0.0:
                    await tx.execute(
                        "INSERT INTO identify_buckets (bucket, next_free_at, holder) VALUES (?, ?, ?)"
                        " ON CONFLICT (bucket) DO UPDATE SET next_free_at = excluded.next_free_at, holder = excluded.holder",
                        (bucket, now + self.window, self.holder),
                    )
                    return waited
            log.info("shard.identify_waiting", shard=shard_id, bucket=bucket, wait=round(wait, 2))
            await self.sleep(wait)
            waited += wait
