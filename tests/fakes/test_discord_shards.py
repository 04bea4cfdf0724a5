"""The fake Discord's gateway shards, proven with discord.py's real ``AutoShardedClient``.

Discord sends a guild's events only on the shard ``(guild_id >> 22) % shard_count``: each IDENTIFY
carries ``shard: [id, count]`` and the session gets READY and GUILD_CREATE for its shard's guilds only.
"""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.ext import commands

from .discord_client import bot_intents, running
from .discord_server import FakeDiscordServer, Perms, shard_of


class ShardedTestBot(commands.AutoShardedBot):
    """discord.py's sharded bot; the fake has no IDENTIFY rate limit, so no 5 s pause between shards."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


def sharded_bot(**options) -> ShardedTestBot:
    options.setdefault("command_prefix", "!")
    options.setdefault("intents", bot_intents())
    options.setdefault("guild_ready_timeout", 0.05)
    options.setdefault("chunk_guilds_at_startup", False)
    return ShardedTestBot(**options)


def guild_on(server: FakeDiscordServer, name: str, shard: tuple[int, int]) -> tuple[int, int]:
    """A guild with a channel, the bot and one member, placed on ``shard``: (guild id, channel id)."""
    owner = int(server.add_user(f"{name}-owner")["id"])
    gid = server.add_guild(name, owner_id=owner, shard=shard)
    bot_role = server.add_role(gid, "Bot", Perms.BOT, managed_by_bot=True)
    server.add_member(gid, owner)
    server.add_member(gid, server.application_id, [bot_role])
    return gid, server.add_channel(gid, "talk")


@pytest.fixture
async def server():
    async with FakeDiscordServer(populate=False) as fake:
        yield fake


def listen(bot: discord.Client) -> list[tuple[int, int | None]]:
    """(guild id, shard id) of every message the bot receives."""
    seen: list[tuple[int, int | None]] = []

    async def on_message(message: discord.Message) -> None:
        seen.append((message.guild.id if message.guild else 0, message.guild.shard_id if message.guild else None))

    bot.add_listener(on_message, "on_message")
    return seen


def test_guilds_can_be_placed_on_a_shard(server: FakeDiscordServer):
    placed = [guild_on(server, f"g{i}", (i % 3, 3))[0] for i in range(6)]
    assert [shard_of(g, 3) for g in placed] == [0, 1, 2, 0, 1, 2]
    assert placed == sorted(placed) and len(set(placed)) == 6


async def test_one_client_with_two_shards_gets_each_guild_on_its_shard(server: FakeDiscordServer):
    zero, zero_channel = guild_on(server, "zero", (0, 2))
    one, one_channel = guild_on(server, "one", (1, 2))
    bot = sharded_bot(shard_ids=[0, 1], shard_count=2)
    seen = listen(bot)
    async with running(bot, server):
        assert sorted(d["shard"] for d in server.identifies) == [[0, 2], [1, 2]]
        assert {g.id: g.shard_id for g in bot.guilds} == {zero: 0, one: 1}
        assert sorted(bot.shards) == [0, 1]
        await server.send_message(zero_channel, author="zero-owner", content="on zero")
        await server.send_message(one_channel, author="one-owner", content="on one")
        await server.wait_until(lambda: len(seen) == 2, what="both messages")
        await asyncio.sleep(0.05)  # a duplicate, if the fake sent one, would have arrived by now
    assert sorted(seen) == sorted([(zero, 0), (one, 1)])
    # Each message went out on its guild's shard only.
    created = {shard: [f["d"]["guild_id"] for f in server.frames_on_shard(shard, "MESSAGE_CREATE")] for shard in (0, 1)}
    assert created == {0: [str(zero)], 1: [str(one)]}
    guild_creates = {shard: [f["d"]["id"] for f in server.frames_on_shard(shard, "GUILD_CREATE")] for shard in (0, 1)}
    assert guild_creates == {0: [str(zero)], 1: [str(one)]}


async def test_two_processes_with_different_shards_each_see_only_their_guilds(server: FakeDiscordServer):
    """Two clients (as two processes would run), shard 0 and shard 1 of 2: a new IDENTIFY of one shard does
    not end the other's session, and each sees its own guilds' messages only."""
    zero, zero_channel = guild_on(server, "zero", (0, 2))
    one, one_channel = guild_on(server, "one", (1, 2))
    first, second = sharded_bot(shard_ids=[0], shard_count=2), sharded_bot(shard_ids=[1], shard_count=2)
    seen_first, seen_second = listen(first), listen(second)
    async with running(first, server), running(second, server):
        assert [g.id for g in first.guilds] == [zero] and [g.id for g in second.guilds] == [one]
        assert all(s.valid for s in server.sessions.values())
        for n in range(3):
            await server.send_message(zero_channel, author="zero-owner", content=f"zero {n}")
            await server.send_message(one_channel, author="one-owner", content=f"one {n}")
        await server.wait_until(lambda: len(seen_first) == 3 and len(seen_second) == 3, what="the messages")
        await asyncio.sleep(0.05)
    assert seen_first == [(zero, 0)] * 3 and seen_second == [(one, 1)] * 3


async def test_a_shard_outside_the_count_is_refused(server: FakeDiscordServer):
    guild_on(server, "zero", (0, 2))
    bot = sharded_bot(shard_ids=[2], shard_count=2)
    with pytest.raises(discord.ConnectionClosed) as closed:
        async with running(bot, server, timeout=5):
            pass
    assert closed.value.code == 4010
    assert server.identifies and server.identifies[-1]["shard"] == [2, 2]


async def test_gateway_bot_tells_the_recommended_shards_and_concurrency(server: FakeDiscordServer):
    server.recommended_shards, server.max_concurrency = 4, 2
    bot = sharded_bot()  # no shard_count: discord.py asks /gateway/bot and launches that many shards
    for shard in range(4):
        guild_on(server, f"g{shard}", (shard, 4))
    async with running(bot, server):
        assert bot.shard_count == 4 and sorted(bot.shards) == [0, 1, 2, 3]
        limits = await bot.fetch_session_start_limits()
        assert limits.max_concurrency == 2
        assert sorted(g.shard_id for g in bot.guilds) == [0, 1, 2, 3]
