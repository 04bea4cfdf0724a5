"""Helpers for the Discord end-to-end tests: the content they play, settings, a second guild, and the
Harness that runs the real bot against the fake Discord server and the local model server."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakes.discord_client import running
from fakes.discord_server import FakeDiscordServer, InteractionHandle, Perms

from bot.app import App
from bot.discord_adapter.client import EnsembleBot
from bot.settings import Settings
from bot.testing.openai_server import OpenAIServer

API_KEY = "sk-test-discord"


def _character(name: str, start: str, *, talk: float = 0.5, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "name": name,
        "aliases": list(aliases),
        "description": f"{name} lives in the manor.",
        "personality": "Curious and kind.",
        "voice": {"style": "Short sentences.", "samples": [{"user": "Hello?", "character": f"{name} nods. Hello."}]},
        "talkativeness": talk,
        "start_location": start,
    }


MANOR = {
    "name": "The Manor",
    "description": "An old manor on a hill.",
    "locations": [
        {"id": "hall", "name": "Great Hall", "description": "A cold hall.", "exits": ["garden"]},
        {"id": "garden", "name": "Garden", "description": "Wet roses.", "exits": ["orchard"]},
        {"id": "orchard", "name": "Orchard", "description": "Apple trees."},
    ],
    "cast": ["ada", "bram", "clyde"],
    # Long enough for the split test: the local model server cuts replies at max_tokens * 4 characters.
    # No NPC reaction chains (they take the model's scripted replies); one test turns them on.
    # The quality guards are tested on their own (tests/quality, tests/engine); here scripted lines such as
    # the 3,000-character split test must reach Discord as written, so length and repetition are accepted.
    "settings": {
        "max_reply_tokens": 1500,
        "chain_cap": 0,
        "reply_length": {"min_words": 1, "max_words": 2000},
        "guards": {"repetition": "accept", "length": "accept"},
    },
}
ISLE = {
    "name": "The Isle",
    "description": "A windy island.",
    "locations": [{"id": "dock", "name": "Dock", "description": "Salt and rope."}],
    "cast": ["quill"],
}
CHARACTERS = {
    "ada": _character("Ada", "hall", talk=0.9),
    "bram": _character("Bram", "hall", talk=0.1, aliases=("the cook",)),
    "quill": _character("Quill", "dock"),
    # Discord refuses "clyde" (and "discord") in webhook names: the adapter must adjust it.
    "clyde": _character("Clyde", "garden", talk=0.2),
}


def make_settings(
    tmp_path: Path, content: tuple[Path, Path], model_server: OpenAIServer, discord_server: FakeDiscordServer, **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_PATH": tmp_path / "data" / "ensemble.db",
        "DATABASE_URL": None,  # SQLite unless a test asks for PostgreSQL, whatever the environment holds
        "CHARACTERS_DIR": content[0],
        "WORLDS_DIR": content[1],
        "LLM_BASE_URL": model_server.base_url,
        "LLM_API_KEY": API_KEY,
        "LLM_MODEL": "fake-model",
        "LLM_MAX_ATTEMPTS": 1,
        "LLM_TIMEOUT": 10,
        "DISCORD_TOKEN": discord_server.token,
        "DISCORD_API_BASE": discord_server.api_base,
        "DISCORD_GATEWAY_URL": discord_server.gateway_url,
        "LOG_LEVEL": "WARNING",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Guild2:
    """A second server with its own admin, channel and bot member."""

    guild_id: int
    channel_id: int
    admin: str


def add_second_guild(server: FakeDiscordServer) -> Guild2:
    owner = int(server.add_user("carol")["id"])
    dave = int(server.add_user("dave")["id"])
    gid = server.add_guild("Other Guild", owner_id=owner)
    admin_role = server.add_role(gid, "Admin", Perms.MANAGE_GUILD)
    bot_role = server.add_role(gid, "Ensemble", Perms.BOT, managed_by_bot=True)
    server.add_member(gid, owner)
    server.add_member(gid, dave, [admin_role])
    server.add_member(gid, server.application_id, [bot_role])
    channel = server.add_channel(gid, "tavern")
    return Guild2(gid, channel, "dave")


class Harness:
    """One test's running parts and the gestures a test makes (slash commands, lines, clicks)."""

    def __init__(self, app: App, server: FakeDiscordServer, model: OpenAIServer) -> None:
        self.app = app
        self.server = server
        self.model = model
        self.bot: EnsembleBot | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def layout(self):
        assert self.server.layout is not None
        return self.server.layout

    async def start(self, **options: Any) -> EnsembleBot:
        options.setdefault("guild_ready_timeout", 0.05)
        options.setdefault("chunk_guilds_at_startup", False)
        bot = EnsembleBot(self.app, **options)
        self.seen: set[int] = set()

        async def on_message(message: Any) -> None:
            self.seen.add(message.id)

        bot.add_listener(on_message, "on_message")
        await self._stack.enter_async_context(running(bot, self.server))
        self.bot = bot
        return bot

    async def restart(self, **options: Any) -> EnsembleBot:
        """Close the bot and start a new one on the same database (a process restart)."""
        await self._stack.aclose()
        self._stack = contextlib.AsyncExitStack()
        return await self.start(**options)

    async def stop(self) -> None:
        await self._stack.aclose()

    async def slash(
        self, name: str, options: dict[str, Any] | None = None, *, user: str = "alice", channel: int | None = None, **kw: Any
    ) -> InteractionHandle:
        """Run a slash command and wait until it is fully answered (a callback, and a followup after a defer)."""
        handle = await self.server.invoke_slash(
            name, options, user=user, channel_id=channel or self.layout.roleplay_id, **kw
        )
        await handle.wait_callback()
        if handle.callback_types[0] == 5:
            await handle.wait_followups(1)
        return handle

    async def setup_scene(self, channel: int | None = None, world: str = "manor") -> None:
        """As the admin: bind the server to ``world`` and turn role-play on in ``channel``."""
        await self.slash("world setup", {"world": world})
        await self.slash("scene channel", {"enabled": True}, channel=channel)

    async def summon(self, name: str, channel: int | None = None) -> InteractionHandle:
        return await self.slash("summon", {"character": name}, user="bob", channel=channel)

    async def say(
        self, text: str, *, author: str = "bob", channel: int | None = None, reply_to: int | None = None
    ) -> dict[str, Any]:
        sent = await self.server.send_message(
            channel or self.layout.roleplay_id, author=author, content=text, reply_to=reply_to
        )
        # The bot has the message (and queued it, in the same event) once its listeners saw it.
        await self.server.wait_until(lambda: int(sent["id"]) in self.seen, what="the bot to see the line")
        return sent

    async def npc_line(
        self, channel: int | None = None, *, after: int = 0, timeout: float = 10.0, settle: bool = True
    ) -> dict[str, Any]:
        """The next message a character posted (through the webhook, or as the bot in fallback mode).

        With ``settle`` it also waits until the bot finished the turn (the post is recorded).
        """
        cid = channel or self.layout.roleplay_id
        message = await self.server.wait_for_message(
            cid, lambda m: m["_source"] in ("webhook", "bot") and bool(m.get("components")), timeout=timeout, after=after
        )
        if settle:
            await self.idle()
        return message

    async def idle(self) -> None:
        """Wait until every queued line has been handled."""
        assert self.bot is not None
        await self.bot.intake.wait_idle(timeout=10)
        await asyncio.wait_for(self.bot.poster.drain(), 10)

    def replies(self, channel: int | None = None) -> list[dict[str, Any]]:
        return self.server.webhook_messages(channel or self.layout.roleplay_id)


def executes(server: FakeDiscordServer) -> list[Any]:
    """Webhook executes by the bot's channel webhooks (not interaction followups, which use the same route)."""
    app = str(server.application_id)
    return [c for c in server.calls_to("POST", "/webhooks/{id}/{token}") if c.path.split("/")[2] != app]


def content_of(handle: InteractionHandle) -> str:
    """What the person saw: the immediate reply, or the first followup after a defer."""
    if handle.callback_types[0] == 4:
        return handle.callbacks[0]["data"].get("content", "")
    followups = handle.followups
    if followups:
        return followups[0]["content"]
    return ""


def is_ephemeral(handle: InteractionHandle) -> bool:
    if handle.callback_types[0] == 4:
        return bool(int(handle.callbacks[0]["data"].get("flags") or 0) & 64)
    return bool(handle.followups and handle.followups[0]["flags"] & 64)


def labels(message: dict[str, Any]) -> list[str]:
    return [c.get("label", "") for row in message.get("components", []) for c in row.get("components", [])]


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c.get("custom_id", "") for row in message.get("components", []) for c in row.get("components", [])]
