"""Shard leases and the IDENTIFY gate on real databases (SQLite file and PostgreSQL), with an injected clock.

Two ``ShardLeases`` with different holders over their own connections stand for two bot processes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.ports import FakeClock
from bot.errors import ConfigError
from bot.shards.leases import IdentifyGate, ShardKeeper, ShardLeases
from bot.shards.plan import Refuse, ShardPlan, Take, Wait
from bot.store.database import Database, open_database
from bot.store.migrate import migrate_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def target(request: pytest.FixtureRequest, tmp_path: Path):
    """Where the two 'processes' meet: a migrated SQLite file or PostgreSQL database."""
    where = str(tmp_path / "shared.db") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    db = await open_database(where)
    await migrate_database(db)
    await db.close()
    return where


@pytest.fixture
async def two(target: str):
    first, second = await open_database(target), await open_database(target)
    yield first, second
    await first.close()
    await second.close()


class SleepingClock:
    """A FakeClock and a sleep that advances it: waiting costs no real time."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


async def test_one_shard_one_holder(two: tuple[Database, Database]):
    time = SleepingClock()
    a = ShardLeases(two[0], holder="a", clock=time.clock, ttl=30)
    b = ShardLeases(two[1], holder="b", clock=time.clock, ttl=30)
    took = await a.try_acquire(0, 2)
    assert isinstance(took, Take) and took.lease.token == 1
    waited = await b.try_acquire(0, 2)
    assert isinstance(waited, Wait) and waited.holder == "a" and waited.retry_in == 30
    # Another shard of the same count is free for b.
    assert isinstance(await b.try_acquire(1, 2), Take)
    # b cannot renew a's lease, and a's renewal keeps its token.
    assert await b.renew(took.lease) is None
    renewed = await a.renew(took.lease)
    assert renewed is not None and renewed.token == 1


async def test_a_killed_holders_lease_is_taken_over_after_it_expires_and_fences_it_out(two: tuple[Database, Database]):
    time = SleepingClock()
    a = ShardLeases(two[0], holder="a", clock=time.clock, ttl=30)
    b = ShardLeases(two[1], holder="b", clock=time.clock, ttl=30)
    old = (await a.try_acquire(0, 1)).lease
    # a is kill -9'd: no more heartbeats. b waits for the expiry, then takes over with a new token.
    keeper = ShardKeeper(b, ShardPlan(1, (0,)), sleep=time.sleep)
    await keeper.acquire_all()
    new = keeper.held[0]
    assert new.holder == "b" and new.token == old.token + 1
    assert sum(time.slept) >= 30
    # a comes back (it was only paused): its renewal fails and its writes are fenced out.
    assert await a.renew(old) is None
    async with two[0].transaction() as tx:
        assert not await a.still_held(tx, old)
    async with two[1].transaction() as tx:
        assert await b.still_held(tx, new)


async def test_a_duplicated_process_never_runs_a_shard_twice(two: tuple[Database, Database]):
    """Two processes with the same plan racing at start: each shard ends with exactly one holder."""
    time = SleepingClock()
    plan = ShardPlan(2, (0, 1))
    a = ShardKeeper(ShardLeases(two[0], holder="a", clock=time.clock, ttl=30), plan, sleep=time.sleep)
    b = ShardKeeper(ShardLeases(two[1], holder="b", clock=time.clock, ttl=30), plan, sleep=time.sleep)
    results = await asyncio.gather(*(leases.try_acquire(s, 2) for s in (0, 1) for leases in (a.leases, b.leases)))
    winners = [r for r in results if isinstance(r, Take)]
    assert len(winners) == 2 and {w.lease.shard_id for w in winners} == {0, 1}
    rows = await two[0].fetch_all("SELECT shard_id, holder FROM shard_leases ORDER BY shard_id")
    assert len(rows) == 2


async def test_heartbeats_keep_the_lease_and_a_lost_one_stops_ownership(two: tuple[Database, Database]):
    time = SleepingClock()
    lost: list[int] = []
    keeper = ShardKeeper(
        ShardLeases(two[0], holder="a", clock=time.clock, ttl=30), ShardPlan(2, (0, 1)), sleep=time.sleep, on_lost=lost.append
    )
    await keeper.acquire_all()
    guild_on_0 = 2 << 22
    guild_on_1 = 3 << 22
    assert keeper.owns_guild(guild_on_0) and keeper.owns_guild(guild_on_1)
    for _ in range(10):  # 100 s of heartbeats every 10 s: never expires
        time.clock.advance(10)
        assert await keeper.heartbeat() == []
    # Someone forcibly takes shard 1 (an operator, or a process that saw the lease expire while we were stalled).
    await two[1].execute("UPDATE shard_leases SET holder = 'b', token = token + 1 WHERE shard_id = 1")
    time.clock.advance(10)
    assert await keeper.heartbeat() == [1]
    assert lost == [1]
    assert keeper.owns_guild(guild_on_0) and not keeper.owns_guild(guild_on_1)


async def test_release_lets_the_next_process_start_at_once(two: tuple[Database, Database]):
    time = SleepingClock()
    a = ShardKeeper(ShardLeases(two[0], holder="a", clock=time.clock, ttl=30), ShardPlan(1, (0,)), sleep=time.sleep)
    await a.acquire_all()
    await a.release_all()
    b = ShardKeeper(ShardLeases(two[1], holder="b", clock=time.clock, ttl=30), ShardPlan(1, (0,)), sleep=time.sleep)
    await b.acquire_all()
    assert time.slept == [] and b.held[0].token == 2


async def test_a_new_shard_count_waits_for_the_old_processes(two: tuple[Database, Database]):
    time = SleepingClock()
    old = ShardLeases(two[0], holder="old", clock=time.clock, ttl=30)
    assert isinstance(await old.try_acquire(3, 4), Take)
    new = ShardLeases(two[1], holder="new", clock=time.clock, ttl=30)
    refused = await new.try_acquire(0, 2)
    assert isinstance(refused, Refuse)
    with pytest.raises(ConfigError, match="SHARD_COUNT=4"):
        await ShardKeeper(new, ShardPlan(2, (0,)), sleep=time.sleep).acquire_all()
    time.clock.advance(31)  # the old process is gone and its lease ran out
    assert isinstance(await new.try_acquire(0, 2), Take)


async def test_identify_is_spaced_across_processes(two: tuple[Database, Database]):
    """max_concurrency 1: four shards over two processes IDENTIFY 5 s apart; 2: two at a time."""
    time = SleepingClock()
    gates = [IdentifyGate(db, holder=h, clock=time.clock, sleep=time.sleep) for db, h in zip(two, "ab", strict=True)]
    moments = []
    for shard in range(4):
        await gates[shard % 2].wait_turn(shard, 1)
        moments.append(time.clock.now().timestamp())
    assert [round(b - a, 6) for a, b in zip(moments, moments[1:], strict=False)] == [5.0, 5.0, 5.0]
    time.clock.advance(5)
    start = time.clock.now().timestamp()
    for shard in range(4):
        await gates[shard % 2].wait_turn(shard, 2)
    assert time.clock.now().timestamp() - start == 5.0  # buckets 0 and 1 go at once, then each again 5 s later


async def test_ownership_ends_at_the_expiry_when_heartbeats_cannot_renew(two: tuple[Database, Database]):
    """No heartbeat got through (the database was unreachable): at the lease's expiry the process stops
    acting for the shard by its own clock, before anyone else may take it over; a later renewal restores it."""
    time = SleepingClock()
    keeper = ShardKeeper(ShardLeases(two[0], holder="a", clock=time.clock, ttl=30), ShardPlan(1, (0,)), sleep=time.sleep)
    await keeper.acquire_all()
    guild = 7 << 22
    time.clock.advance(29.9)
    assert keeper.owns_guild(guild)
    time.clock.advance(0.1)
    assert not keeper.owns_guild(guild)
    assert await keeper.heartbeat() == []  # nobody took it meanwhile: same token, renewed
    assert keeper.owns_guild(guild)
