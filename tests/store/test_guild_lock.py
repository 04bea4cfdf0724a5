"""Several processes on one PostgreSQL database: changes to one server's world wait for each other (the
server's advisory lock, held by the transaction), changes to another server do not."""

from __future__ import annotations

import asyncio

from bot.store import Store


async def test_a_servers_world_changes_in_two_processes_apply_one_after_the_other(pg_migrated_url):
    first, second, third = [await Store.open(pg_migrated_url) for _ in range(3)]  # three processes' stores
    inside, release = asyncio.Event(), asyncio.Event()
    tasks: list[asyncio.Task] = []
    try:

        async def hold() -> None:
            async with first.guild_transaction("g1") as tx:
                await tx.execute(
                    "INSERT INTO servers (guild_id, world_id, created_at) VALUES (?, ?, ?)", ("g1", "manor", first.now())
                )
                inside.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await inside.wait()
        waiting = asyncio.create_task(second.reset_server("g1"))
        tasks += [holder, waiting]
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second process's reset waits for the first process's transaction"
        await asyncio.wait_for(third.reset_server("g2"), timeout=5)  # another server goes ahead
        release.set()
        await holder
        await asyncio.wait_for(waiting, timeout=5)
        assert await second.server_world("g1") == "manor"  # a reset keeps the binding, and saw the commit
    finally:
        release.set()  # a failed check must not leave a transaction open while the stores close
        await asyncio.gather(*tasks, return_exceptions=True)
        for store in (first, second, third):
            await store.close()


async def test_sqlite_guild_transactions_need_no_lock_statement(store):
    async with store.guild_transaction("g1") as tx:
        assert await tx.fetch_value("SELECT 1") == 1
