"""Helpers that point the real discord.py client at a FakeDiscordServer and run a bot against it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import discord
import yarl
from discord.ext import commands

from .discord_server import FakeDiscordServer


@contextlib.contextmanager
def pointed_at(server: FakeDiscordServer) -> Iterator[None]:
    """Redirect all of discord.py's REST (``Route.BASE``) and gateway traffic to ``server``; restore on exit.

    ``Route.BASE`` is read whenever a route is built, so keep this open for the bot's whole life.
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


def bot_intents() -> discord.Intents:
    """``Intents.default()`` plus message content, as the role-play bot needs."""
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


def make_bot(**overrides: Any) -> commands.Bot:
    """A ``commands.Bot`` with test-friendly settings.

    ``guild_ready_timeout`` (a documented Client option, default 2 s) is how long discord.py waits after the
    last GUILD_CREATE before ``on_ready``; the fake sends them all at once, so a short wait is enough.
    """
    options: dict[str, Any] = {
        "command_prefix": "!",
        "intents": bot_intents(),
        "guild_ready_timeout": 0.05,
        "chunk_guilds_at_startup": False,
    }
    options.update(overrides)
    return commands.Bot(**options)


@contextlib.asynccontextmanager
async def running(
    client: discord.Client, server: FakeDiscordServer, *, token: str | None = None, timeout: float = 10.0
) -> AsyncIterator[discord.Client]:
    """Log ``client`` in against ``server``, connect, wait for ``on_ready``; close it on exit.

    If the connection fails before READY (bad token, refused intents...) the client's exception is raised.
    """
    with pointed_at(server):
        try:
            await client.login(token if token is not None else server.token)
        except BaseException:
            await client.close()
            raise
        task = asyncio.create_task(client.connect(reconnect=True), name="fake-discord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait({task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # raises the connection error
                raise RuntimeError("the client stopped before it was ready")
            if ready not in done:
                raise TimeoutError(f"the client was not ready after {timeout}s")
            yield client
        finally:
            ready.cancel()
            await client.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
