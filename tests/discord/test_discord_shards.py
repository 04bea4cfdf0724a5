"""End to end with shards: two Ensemble "processes" (two apps on one database, two real discord.py
AutoShardedBots, one shard each) against the fake Discord, composed as ``run`` composes them (leases first,
then the app with the shard fence). Each answers only its own server's lines; both IDENTIFY through the
shared database's gate; one is killed (no lease release, no heartbeat) and its replacement waits out the
dead lease, takes the shard over with a new fencing token and plays on. Once with everything in one SQLite
file, once with everything in a real PostgreSQL (``DATABASE_URL``)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path
from typing import Any

import pytest
from discord_harness import make_settings
from fakes.discord_client import running
from fakes.discord_server import FakeDiscordServer, Perms, shard_of

from bot.app import open_app
from bot.core.ports import FakeClock
from bot.discord_adapter.client import ShardedEnsembleBot
from bot.settings import Settings
from bot.shards.plan import ShardPlan
from bot.shards.runtime import ShardRuntime, shard_runtime
from bot.testing.openai_server import OpenAIServer

TTL = 30.0


async def tiny_sleep(seconds: float) -> None:
    """Lease waits and heartbeats in real time are the clock's business here: just yield briefly."""
    await asyncio.sleep(0.01)


def second_guild_on(server: FakeDiscordServer, shard: tuple[int, int]) -> tuple[int, int]:
    owner = int(server.add_user("carol")["id"])
    dave = int(server.add_user("dave")["id"])
    gid = server.add_guild("Other Guild", owner_id=owner, shard=shard)
    admin = server.add_role(gid, "Admin", Perms.MANAGE_GUILD)
    bot_role = server.add_role(gid, "Ensemble", Perms.BOT, managed_by_bot=True)
    server.add_member(gid, owner)
    server.add_member(gid, dave, [admin])
    server.add_member(gid, server.application_id, [bot_role])
    return gid, server.add_channel(gid, "tavern")


async def idle(bot: ShardedEnsembleBot) -> None:
    """Every queued line handled and every outbox line posted and marked (a kill before the mark is an
    at-least-once repost after the restart, a property of the outbox that has nothing to do with shards)."""
    await bot.intake.wait_idle(timeout=10)
    await asyncio.wait_for(bot.poster.drain(), 10)


async def slash(server: FakeDiscordServer, name: str, options: dict[str, Any], *, user: str, channel: int) -> None:
    handle = await server.invoke_slash(name, options, user=user, channel_id=channel)
    await handle.wait_callback(timeout=10)
    if handle.callback_types[0] == 5:
        await handle.wait_followups(1, timeout=10)


async def play_a_line(server: FakeDiscordServer, model: OpenAIServer, *, player: str, channel: int, reply: str) -> None:
    model.enqueue(reply)
    await server.send_message(channel, author=player, content="Ada, are you there?")
    await server.wait_for_message(channel, lambda m: m["_source"] == "webhook" and m["content"] == reply, timeout=15)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_settings(
    request: pytest.FixtureRequest, tmp_path: Path, content, model_server: OpenAIServer, discord_server: FakeDiscordServer
) -> Settings:
    extra = {} if request.param == "sqlite" else {"DATABASE_URL": request.getfixturevalue("pg_url")}
    return make_settings(tmp_path, content, model_server, discord_server, **extra)


async def test_two_sharded_processes_each_run_their_own_server_and_fail_over(
    shared_settings: Settings, discord_server: FakeDiscordServer, model_server: OpenAIServer
):
    settings = shared_settings
    server = discord_server
    server.max_concurrency = 2  # shards 0 and 1 IDENTIFY in different buckets: neither waits 5 s
    first_guild = server.layout.guild_id
    a_shard = shard_of(first_guild, 2)
    b_shard = 1 - a_shard
    second_guild, tavern = second_guild_on(server, (b_shard, 2))
    lease_clock = FakeClock()
    target = settings.database_target()

    async def process(stack: contextlib.AsyncExitStack, shard: int, holder: str) -> tuple[ShardedEnsembleBot, ShardRuntime]:
        runtime = await stack.enter_async_context(
            shard_runtime(target, ShardPlan(2, (shard,)), clock=lease_clock, holder=holder, ttl=TTL, sleep=tiny_sleep)
        )
        app = await stack.enter_async_context(
            open_app(settings, rng=random.Random(shard), owns_guild=runtime.owns_guild, fence=runtime.fence_for(target))
        )
        stack.push_async_callback(app.model.aclose)  # type: ignore[attr-defined]
        bot = ShardedEnsembleBot(
            app, sharding=runtime, shard_count=2, shard_ids=[shard], guild_ready_timeout=0.05, chunk_guilds_at_startup=False
        )
        await stack.enter_async_context(running(bot, server))
        return bot, runtime

    async with contextlib.AsyncExitStack() as a_stack:
        bot_a, runtime_a = await process(a_stack, a_shard, "proc-a")
        b_stack = contextlib.AsyncExitStack()
        bot_b, runtime_b = await process(b_stack, b_shard, "proc-b")
        try:
            assert [g.id for g in bot_a.guilds] == [first_guild] and [g.id for g in bot_b.guilds] == [second_guild]
            assert sorted(d["shard"] for d in server.identifies) == sorted([[a_shard, 2], [b_shard, 2]])
            buckets = await runtime_a.db.fetch_all("SELECT bucket, holder FROM identify_buckets ORDER BY bucket")
            assert sorted((r["bucket"], r["holder"]) for r in buckets) == sorted([(a_shard, "proc-a"), (b_shard, "proc-b")])

            roleplay = server.layout.roleplay_id
            await slash(server, "world setup", {"world": "manor"}, user="alice", channel=roleplay)
            await slash(server, "scene channel", {"enabled": True}, user="alice", channel=roleplay)
            await slash(server, "summon", {"character": "ada"}, user="bob", channel=roleplay)
            await play_a_line(server, model_server, player="bob", channel=roleplay, reply="Here, in the hall.")
            await slash(server, "world setup", {"world": "manor"}, user="dave", channel=tavern)
            await slash(server, "scene channel", {"enabled": True}, user="dave", channel=tavern)
            await slash(server, "summon", {"character": "ada"}, user="dave", channel=tavern)
            await play_a_line(server, model_server, player="dave", channel=tavern, reply="Here, at the tavern.")
            await idle(bot_a)
            await idle(bot_b)

            # Each line was answered once, by the process owning its server's shard.
            assert [m["content"] for m in server.webhook_messages(roleplay)] == ["Here, in the hall."]
            assert [m["content"] for m in server.webhook_messages(tavern)] == ["Here, at the tavern."]
            assert {f["d"]["guild_id"] for f in server.frames_on_shard(a_shard, "MESSAGE_CREATE")} == {str(first_guild)}
            assert {f["d"]["guild_id"] for f in server.frames_on_shard(b_shard, "MESSAGE_CREATE")} == {str(second_guild)}
            assert runtime_a.owns_guild(first_guild) and not runtime_a.owns_guild(second_guild)
            dead_token = runtime_b.keeper.held[b_shard].token
        finally:
            # Process b is killed: no lease release (it forgets it holds any), no more heartbeats.
            runtime_b.keeper.held.clear()
            await b_stack.aclose()

        leases = {r["shard_id"]: r["holder"] for r in await runtime_a.db.fetch_all("SELECT shard_id, holder FROM shard_leases")}
        assert leases == {a_shard: "proc-a", b_shard: "proc-b"}  # the dead process's lease is still there

        async with contextlib.AsyncExitStack() as c_stack:
            replacement = asyncio.create_task(process(c_stack, b_shard, "proc-c"))
            await asyncio.sleep(0.3)
            assert not replacement.done(), "the replacement must wait while the dead process's lease is live"
            assert not any(d["shard"] == [b_shard, 2] for d in server.identifies[2:])
            lease_clock.advance(TTL + 1)
            bot_c, runtime_c = await asyncio.wait_for(replacement, 20)
            assert runtime_c.keeper.held[b_shard].token == dead_token + 1
            await play_a_line(server, model_server, player="dave", channel=tavern, reply="Still here.")
            await idle(bot_c)
            assert [m["content"] for m in server.webhook_messages(tavern)] == ["Here, at the tavern.", "Still here."]
            # Process a kept its shard the whole time, heartbeating.
            assert runtime_a.keeper.held[a_shard].holder == "proc-a" and not runtime_a.lost
    assert not server.unhandled, [(c.method, c.path) for c in server.unhandled]
