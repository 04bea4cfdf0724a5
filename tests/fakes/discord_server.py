"""A local fake Discord (REST API v10 + JSON gateway) that the real discord.py client can drive in tests.

One server fakes one bot application: a single token, one bot user whose id is also the application id.
State is plain dicts shaped like Discord's payloads. Keys that start with ``_`` in stored messages
(``_source``, ``_files``, ``_avatar_url``...) are fake-only annotations for assertions and are never sent
to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class Intents:
    """Gateway intent bits (only the ones the fake looks at)."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_WEBHOOKS = 1 << 5
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class Perms:
    """Permission bits (only the ones the fake checks or seeds)."""

    ADMINISTRATOR = 1 << 3
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 53) - 1

    EVERYONE = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | ADD_REACTIONS
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    BOT = EVERYONE | MANAGE_MESSAGES | MANAGE_WEBHOOKS | MANAGE_THREADS


# Message flags and types used below.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
SETTABLE_FLAGS = (1 << 2) | (1 << 12)  # SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS
TYPE_DEFAULT, TYPE_REPLY, TYPE_CHAT_INPUT = 0, 19, 20
THREAD_TYPES = (10, 11, 12)

_EVENT_INTENT = {
    "GUILD_CREATE": Intents.GUILDS,
    "GUILD_UPDATE": Intents.GUILDS,
    "GUILD_ROLE_UPDATE": Intents.GUILDS,
    "CHANNEL_CREATE": Intents.GUILDS,
    "CHANNEL_UPDATE": Intents.GUILDS,
    "THREAD_CREATE": Intents.GUILDS,
    "GUILD_MEMBER_ADD": Intents.GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": Intents.GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": Intents.GUILD_MEMBERS,
    "WEBHOOKS_UPDATE": Intents.GUILD_WEBHOOKS,
    "MESSAGE_REACTION_ADD": Intents.GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": Intents.GUILD_MESSAGE_REACTIONS,
    "TYPING_START": Intents.GUILD_MESSAGE_TYPING,
}
_MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE")
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")


def now_iso() -> str:
    """Current time as Discord writes it (ISO 8601, UTC, microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SnowflakeGenerator:
    """Strictly increasing Discord snowflakes whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        candidate = ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (1 << 17)
        self._last = max(candidate, self._last + 1)
        return self._last

    def bump(self, used: int) -> None:
        """An id was taken out of order (``add_guild(shard=...)``): later ids stay above it."""
        self._last = max(self._last, used)


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule: the shard a guild's events are sent on."""
    return (guild_id >> 22) % shard_count


class DiscordError(Exception):
    """An error answered with Discord's JSON error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message
        self.errors, self.retry_after = errors, retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        if self.status == 429:
            body["retry_after"] = self.retry_after if self.retry_after is not None else 0.0
            body["global"] = False
        return body

    def headers(self) -> dict[str, str]:
        if self.status != 429:
            return {}
        # Without Via, discord.py takes a 429 for a Cloudflare ban and raises at once.
        retry = self.retry_after or 0.0
        return {"Via": "1.1 google", "Retry-After": str(max(1, round(retry))), "X-RateLimit-Scope": "user"}


def _check_options(options: list[dict[str, Any]], where: str) -> None:
    """Discord's rules for options (and subcommands, recursively): names like command names, in every
    locale too, descriptions of 1 to 100 characters, choice names of 1 to 100, at most 25 options."""
    if len(options) > 25:
        raise _form_error(f"{where}.options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, option in enumerate(options):
        at = f"{where}.options.{index}"
        names = [("name", option.get("name", ""))] + [
            (f"name_localizations.{loc}", text) for loc, text in (option.get("name_localizations") or {}).items()
        ]
        for field_name, text in names:
            if not _NAME_RE.match(text) or text != text.lower():
                raise _form_error(f"{at}.{field_name}", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        descriptions = [("description", option.get("description", ""))] + [
            (f"description_localizations.{loc}", text)
            for loc, text in (option.get("description_localizations") or {}).items()
        ]
        for field_name, text in descriptions:
            if not 1 <= len(text) <= 100:
                raise _form_error(f"{at}.{field_name}", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        for c_index, choice in enumerate(option.get("choices") or []):
            texts = [choice.get("name", ""), *(choice.get("name_localizations") or {}).values()]
            if not all(1 <= len(text) <= 100 for text in texts):
                raise _form_error(
                    f"{at}.choices.{c_index}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
        _check_options(option.get("options") or [], at)


def _form_error(field_name: str, code: str, message: str) -> DiscordError:
    return DiscordError(
        400,
        50035,
        "Invalid Form Body",
        errors={field_name: {"_errors": [{"code": code, "message": message}]}},
    )


@dataclass
class Upload:
    """A file the client sent in a multipart body."""

    field: str
    filename: str
    data: bytes
    content_type: str | None = None
    message_id: int | None = None


@dataclass
class Call:
    """One REST request as the fake received it (path without the /api/v10 prefix)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[Upload] = field(default_factory=list)
    reason: str | None = None
    authorized: bool = False
    status: int = 0


@dataclass
class _Failure:
    method: str
    pattern: str | re.Pattern[str]
    error: DiscordError
    times: int


@dataclass
class Layout:
    """Ids of the default guild the fake seeds (``FakeDiscordServer(populate=True)``)."""

    guild_id: int
    general_id: int
    roleplay_id: int
    thread_id: int
    everyone_role_id: int
    admin_role_id: int
    member_role_id: int
    bot_role_id: int
    owner_id: int
    admin_user_id: int
    member_user_id: int
    bot_user_id: int


@dataclass
class _Conn:
    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    session: _Session | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Session:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    conn: _Conn | None = None
    valid: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _matches(pattern: str | re.Pattern[str], path: str) -> bool:
    """``{name}`` or ``*`` matches one path segment; a compiled regex must fullmatch the path."""
    if isinstance(pattern, re.Pattern):
        return pattern.fullmatch(path) is not None
    want, got = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(want) != len(got):
        return False
    return all(
        w == "*" or (w.startswith("{") and w.endswith("}")) or w == g for w, g in zip(want, got, strict=True)
    )


class InteractionHandle:
    """What a test holds after injecting an interaction: the payload, and the bot's answers as they arrive."""

    def __init__(
        self, server: FakeDiscordServer, payload: dict[str, Any], source_message_id: int | None
    ) -> None:
        self.server = server
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.user_id = int((payload.get("member") or {}).get("user", payload.get("user", {}))["id"])
        self.channel_id = int(payload["channel_id"])
        self.source_message_id = source_message_id
        self.callbacks: list[dict[str, Any]] = []
        self.original_id: int | None = None
        self.followup_ids: list[int] = []
        self.deadline = asyncio.get_running_loop().time() + server.interaction_deadline

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def callback_types(self) -> list[int]:
        return [c["type"] for c in self.callbacks]

    @property
    def original(self) -> dict[str, Any] | None:
        """The original response message as currently stored (``None`` if none or deleted)."""
        return None if self.original_id is None else self.server.messages.get(self.original_id)

    @property
    def followups(self) -> list[dict[str, Any]]:
        """Messages returned by followup sends (the first followup after a defer is the original message)."""
        return [self.server.messages[m] for m in self.followup_ids if m in self.server.messages]

    @property
    def autocomplete_choices(self) -> list[dict[str, Any]] | None:
        for cb in self.callbacks:
            if cb["type"] == 8:
                return cb["data"].get("choices", [])
        return None

    @property
    def modal(self) -> dict[str, Any] | None:
        for cb in self.callbacks:
            if cb["type"] == 9:
                return cb["data"]
        return None

    async def wait_callback(self, timeout: float = 5.0) -> dict[str, Any]:
        """The first callback ``{"type", "data"}`` once the bot has sent it."""
        await self.server.wait_until(lambda: self.callbacks, timeout=timeout, what="an interaction callback")
        return self.callbacks[0]

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.server.wait_until(
            lambda: len(self.followup_ids) >= count, timeout=timeout, what=f"{count} followup(s)"
        )
        return self.followups

    async def wait_until(self, predicate: Callable[[InteractionHandle], Any], timeout: float = 5.0) -> None:
        await self.server.wait_until(lambda: predicate(self), timeout=timeout)


Handler = Callable[..., Awaitable[tuple[int, Any]]]


class FakeDiscordServer:
    """An aiohttp server on 127.0.0.1 (ephemeral port) speaking enough of Discord for discord.py 2.7.

    Use as ``async with FakeDiscordServer() as server:``. Point discord.py at ``server.api_base`` and
    ``server.gateway_url`` (see ``tests/fakes/discord_client.pointed_at``).
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        populate: bool = True,
        bot_name: str = "Ensemble",
        heartbeat_interval_ms: int = 41250,
        interaction_deadline: float = 3.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.host = host
        self.port = 0
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.snowflake = SnowflakeGenerator()

        self.users: dict[int, dict[str, Any]] = {}
        self.guilds: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self.deleted_messages: list[dict[str, Any]] = []
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, InteractionHandle] = {}
        self._attachment_data: dict[int, bytes] = {}
        self._staged_attachments: dict[str, dict[str, Any]] = {}

        self.calls: list[Call] = []
        self.unhandled: list[Call] = []
        self.uploads: list[Upload] = []
        self.typing: list[int] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.gateway_received: list[dict[str, Any]] = []
        self.gateway_connections: list[_Conn] = []
        self.sessions: dict[str, _Session] = {}
        self.replayed: list[dict[str, Any]] = []  # dispatch frames re-sent on RESUME
        self.ready_count = 0  # READYs sent (successful IDENTIFYs)
        self.resumed_count = 0  # RESUMEDs sent (successful RESUMEs)

        # Switches a test flips.
        self.allowed_privileged_intents = Intents.PRIVILEGED
        # What GET /gateway/bot answers: the shard count Discord recommends and IDENTIFYs allowed per 5 s.
        self.recommended_shards = 1
        self.max_concurrency = 1
        self.refuse_gateway_token = False
        self._failures: list[_Failure] = []
        self._gate = asyncio.Event()
        self._gate.set()
        self._changed = asyncio.Event()

        bot_id = self.snowflake()
        self.application_id = bot_id
        self.bot_user = self.add_user(bot_name, bot=True, user_id=bot_id)
        self.bot_user.update({"verified": True, "mfa_enabled": False, "flags": 0, "email": None})
        self.application = {
            "id": str(bot_id),
            "name": bot_name,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": {"id": str(self.snowflake()), "username": "owner", "discriminator": "0", "avatar": None},
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
            "team": None,
            "bot": self._public_user(self.bot_user),
        }
        self.layout: Layout | None = self._populate() if populate else None

        self._runner: web.AppRunner | None = None
        self._routes: list[tuple[str, str, Handler, bool]] = self._route_table()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDiscordServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/resume-gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{attachment}/{filename}", self._serve_attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._gate.set()
        for conn in list(self.gateway_connections):
            if not conn.ws.closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.ws.close(code=1001), 2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (as a ``yarl.URL``)."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/resume-gateway"

    # ------------------------------------------------------------------ seeding (sync, before or during a test)

    def add_user(self, username: str, *, bot: bool = False, user_id: int | None = None) -> dict[str, Any]:
        uid = user_id or self.snowflake()
        user = {
            "id": str(uid),
            "username": username,
            "discriminator": "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        self.users[uid] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner_id: int,
        everyone_permissions: int = Perms.EVERYONE,
        locale: str = "en-US",
        shard: tuple[int, int] | None = None,
    ) -> int:
        """A server; ``locale`` is its preferred locale (Discord's default for servers is en-US);
        ``shard=(shard_id, shard_count)`` picks an id Discord would deliver on that shard."""
        gid = self.snowflake()
        if shard is not None:
            while shard_of(gid, shard[1]) != shard[0]:
                gid += 1 << 22  # one millisecond later: the timestamp bits decide the shard
            self.snowflake.bump(gid)
        self.guilds[gid] = {
            "id": gid,
            "name": name,
            "owner_id": owner_id,
            "preferred_locale": locale,
            "roles": {},
            "members": {},
            "channel_ids": [],
            "joined_at": now_iso(),
        }
        self.add_role(gid, "@everyone", everyone_permissions, role_id=gid, position=0)
        return gid

    def set_guild_locale(self, guild_id: int, locale: str) -> None:
        """The server's preferred locale (Community settings); interactions carry it as ``guild_locale``."""
        self.guilds[guild_id]["preferred_locale"] = locale

    def add_role(
        self,
        guild_id: int,
        name: str,
        permissions: int,
        *,
        role_id: int | None = None,
        position: int | None = None,
        managed_by_bot: bool = False,
    ) -> int:
        guild = self.guilds[guild_id]
        rid = role_id or self.snowflake()
        role = {
            "id": str(rid),
            "name": name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": len(guild["roles"]) if position is None else position,
            "permissions": str(permissions),
            "managed": managed_by_bot,
            "mentionable": False,
            "flags": 0,
        }
        if managed_by_bot:
            role["tags"] = {"bot_id": self.bot_user["id"]}
        guild["roles"][rid] = role
        return rid

    def add_member(self, guild_id: int, user_id: int, role_ids: Iterable[int] = ()) -> dict[str, Any]:
        member = {
            "user": self.users[user_id],
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in role_ids],
            "joined_at": now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        self.guilds[guild_id]["members"][user_id] = member
        return member

    def add_channel(
        self, guild_id: int, name: str, *, channel_type: int = 0, topic: str | None = None
    ) -> int:
        guild = self.guilds[guild_id]
        cid = self.snowflake()
        self.channels[cid] = {
            "id": str(cid),
            "type": channel_type,
            "guild_id": str(guild_id),
            "name": name,
            "position": len(guild["channel_ids"]),
            "permission_overwrites": [],
            "topic": topic,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        guild["channel_ids"].append(cid)
        self._channel_messages[cid] = []
        return cid

    def add_thread(
        self,
        parent_id: int,
        name: str,
        *,
        thread_id: int | None = None,
        owner_id: int | None = None,
        thread_type: int = 11,
    ) -> int:
        parent = self.channels[parent_id]
        tid = thread_id or self.snowflake()
        stamp = now_iso()
        self.channels[tid] = {
            "id": str(tid),
            "type": thread_type,
            "guild_id": parent["guild_id"],
            "parent_id": str(parent_id),
            "owner_id": str(owner_id or self.application_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": stamp,
                "locked": False,
                "create_timestamp": stamp,
            },
        }
        self._channel_messages[tid] = []
        return tid

    def add_webhook(self, channel_id: int, name: str, *, application_owned: bool = True) -> dict[str, Any]:
        """Seed a webhook without a REST call (e.g. to fill a channel up to the limit)."""
        channel = self.channels[channel_id]
        wid = self.snowflake()
        hook = {
            "id": str(wid),
            "type": 1,
            "token": secrets.token_urlsafe(48),
            "channel_id": str(channel_id),
            "guild_id": channel.get("guild_id"),
            "name": name,
            "avatar": None,
            "application_id": str(self.application_id) if application_owned else None,
            "user": self._public_user(self.bot_user),
        }
        self.webhooks[wid] = hook
        return hook

    def _populate(self) -> Layout:
        owner = self.add_user("owner")
        admin = self.add_user("alice")
        member = self.add_user("bob")
        owner_id, admin_id, member_id = int(owner["id"]), int(admin["id"]), int(member["id"])
        gid = self.add_guild("Ensemble Test Guild", owner_id=owner_id)
        member_role = self.add_role(gid, "Member", 0)
        admin_role = self.add_role(gid, "Admin", Perms.MANAGE_GUILD)
        bot_role = self.add_role(gid, self.bot_user["username"], Perms.BOT, managed_by_bot=True)
        self.add_member(gid, owner_id)
        self.add_member(gid, admin_id, [admin_role, member_role])
        self.add_member(gid, member_id, [member_role])
        self.add_member(gid, self.application_id, [bot_role])
        general = self.add_channel(gid, "general")
        roleplay = self.add_channel(gid, "roleplay", topic="Scenes happen here")
        thread = self.add_thread(roleplay, "scene-thread", owner_id=admin_id)
        self.guilds[gid]["system_channel_id"] = general
        return Layout(
            guild_id=gid,
            general_id=general,
            roleplay_id=roleplay,
            thread_id=thread,
            everyone_role_id=gid,
            admin_role_id=admin_role,
            member_role_id=member_role,
            bot_role_id=bot_role,
            owner_id=owner_id,
            admin_user_id=admin_id,
            member_user_id=member_id,
            bot_user_id=self.application_id,
        )

    # ------------------------------------------------------------------ reading state (for assertions)

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Non-ephemeral messages in a channel or thread, oldest first."""
        return [self.messages[m] for m in self._channel_messages.get(channel_id, []) if m in self.messages]

    def webhook_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages posted by executing a (non-interaction) webhook."""
        return [m for m in self.messages_in(channel_id) if m["_source"] == "webhook"]

    def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages the bot posted through the channel route ``POST /channels/{c}/messages``."""
        return [m for m in self.messages_in(channel_id) if m["_source"] == "bot"]

    def webhooks_in(self, channel_id: int) -> list[dict[str, Any]]:
        return [w for w in self.webhooks.values() if w["channel_id"] == str(channel_id)]

    def synced_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return list(self.commands.get(guild_id, []))

    def calls_to(self, method: str | None = None, pattern: str | re.Pattern[str] | None = None) -> list[Call]:
        """Recorded REST calls, filtered by method and path pattern (see ``fail_next``)."""
        return [
            c
            for c in self.calls
            if (method is None or c.method == method.upper())
            and (pattern is None or _matches(pattern, c.path))
        ]

    def interaction(self, interaction_id: int) -> InteractionHandle:
        return self.interactions[interaction_id]

    def member_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        if user_id == guild["owner_id"]:
            return Perms.ALL
        member = guild["members"].get(user_id)
        perms = int(guild["roles"][guild_id]["permissions"])
        for rid in (member or {}).get("roles", []):
            role = guild["roles"].get(int(rid))
            if role:
                perms |= int(role["permissions"])
        return Perms.ALL if perms & Perms.ADMINISTRATOR else perms

    async def wait_until(
        self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition"
    ) -> Any:
        """Wait until ``predicate()`` is truthy: re-checked on every fake-side change (REST call, gateway frame,
        injection) and every 10 ms, so predicates over the client's state (e.g. a list ``on_message`` fills) work."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = end - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: timed out after {timeout}s waiting for {what}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.01))

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[dict[str, Any]], bool] = lambda m: True,
        timeout: float = 5.0,
        after: int = 0,
    ) -> dict[str, Any]:
        """The first stored message in the channel with an id above ``after`` that satisfies ``predicate``."""

        def find() -> dict[str, Any] | None:
            return next(
                (m for m in self.messages_in(channel_id) if int(m["id"]) > after and predicate(m)), None
            )

        return await self.wait_until(find, timeout=timeout, what=f"a message in channel {channel_id}")

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ error injection

    def fail_next(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        status: int,
        code: int = 0,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        errors: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching REST calls with a Discord error instead of handling them.

        ``path_pattern`` is relative to /api/v10, e.g. ``"/webhooks/{id}/{token}"``: ``{...}`` or ``*`` matches
        one segment; a compiled regex must fullmatch. A 429 carries ``Via`` and ``retry_after`` as Discord's does.
        """
        if message is None:
            message = "You are being rate limited." if status == 429 else f"{status}: fake failure"
        error = DiscordError(status, code, message, errors=errors, retry_after=retry_after)
        self._failures.append(_Failure(method.upper(), path_pattern, error, times))

    def _take_failure(self, method: str, path: str) -> DiscordError | None:
        for failure in self._failures:
            if failure.method == method and _matches(failure.pattern, path):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure.error
        return None

    # ------------------------------------------------------------------ payload shaping

    @staticmethod
    def _public_user(user: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in user.items() if k not in ("email", "verified", "mfa_enabled", "flags")}

    def _member_payload(self, guild_id: int, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        member = dict(self.guilds[guild_id]["members"][user_id])
        if with_user:
            member["user"] = self._public_user(self.users[user_id])
        else:
            member.pop("user", None)
        return member

    def _guild_of(self, channel_id: int) -> int | None:
        gid = self.channels[channel_id].get("guild_id")
        return int(gid) if gid else None

    def _channel_perms(self, channel_id: int, user_id: int) -> int:
        gid = self._guild_of(channel_id)
        return Perms.ALL if gid is None else self.member_permissions(gid, user_id)

    def _guild_payload(self, guild_id: int, *, full: bool, intents: int = 0) -> dict[str, Any]:
        guild = self.guilds[guild_id]
        payload: dict[str, Any] = {
            "id": str(guild_id),
            "name": guild["name"],
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild["owner_id"]),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": list(guild["roles"].values()),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(guild["system_channel_id"]) if guild.get("system_channel_id") else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.get("preferred_locale", "en-US"),
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
        }
        if full:
            members = guild["members"]
            # Without the members intent Discord only sends the bot itself (and voice members).
            shown = list(members) if intents & Intents.GUILD_MEMBERS else [self.application_id]
            payload.update(
                joined_at=guild["members"][self.application_id]["joined_at"]
                if self.application_id in members
                else guild["joined_at"],
                large=False,
                unavailable=False,
                lazy=True,
                member_count=len(members),
                members=[self._member_payload(guild_id, uid) for uid in shown if uid in members],
                channels=[self.channels[c] for c in guild["channel_ids"]],
                threads=[
                    c
                    for c in self.channels.values()
                    if c.get("guild_id") == str(guild_id) and c["type"] in THREAD_TYPES
                ],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return payload

    def _rest_message(self, msg: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in msg.items() if not k.startswith("_")}
        ref = msg.get("_reference_id")
        if ref is not None and not nested:
            target = self.messages.get(ref)
            out["referenced_message"] = None if target is None else self._rest_message(target, nested=True)
        return out

    def _gateway_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = self._rest_message(msg)
        gid = msg.get("_guild_id")
        if gid is not None:
            out["guild_id"] = str(gid)
            author_id = int(msg["author"]["id"])
            if "webhook_id" not in msg and author_id in self.guilds[gid]["members"]:
                out["member"] = self._member_payload(gid, author_id, with_user=False)
        return out

    def _mentions(self, content: str) -> tuple[list[dict[str, Any]], list[str]]:
        users = []
        for uid in dict.fromkeys(int(x) for x in re.findall(r"<@!?(\d+)>", content or "")):
            if uid in self.users:
                users.append(self._public_user(self.users[uid]))
        roles = list(dict.fromkeys(re.findall(r"<@&(\d+)>", content or "")))
        return users, roles

    def _new_message(
        self,
        channel_id: int,
        *,
        author: dict[str, Any],
        body: dict[str, Any],
        uploads: list[Upload],
        source: str,
        msg_type: int = TYPE_DEFAULT,
        flags: int = 0,
        webhook_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        mid = self.snowflake()
        content = body.get("content") or ""
        mentions, mention_roles = self._mentions(content)
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": author,
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._build_attachments(channel_id, mid, body, uploads, []),
            "embeds": list(body.get("embeds") or []),
            "components": list(body.get("components") or []),
            "pinned": False,
            "type": msg_type,
            "flags": flags,
            "_source": source,
            "_guild_id": self._guild_of(channel_id),
            "_files": [u for u in uploads],
        }
        if "nonce" in body:
            msg["nonce"] = body["nonce"]
        if webhook_id is not None:
            msg["webhook_id"] = str(webhook_id)
        if extra:
            msg.update(extra)
        self.messages[mid] = msg
        for up in uploads:
            up.message_id = mid
            self.uploads.append(up)
        return msg

    def _store_in_channel(self, msg: dict[str, Any]) -> None:
        cid = int(msg["channel_id"])
        self._channel_messages.setdefault(cid, []).append(int(msg["id"]))
        channel = self.channels.get(cid)
        if channel is not None:
            channel["last_message_id"] = msg["id"]
            if channel["type"] in THREAD_TYPES:
                channel["message_count"] += 1
                channel["total_message_sent"] += 1

    def _build_attachments(
        self,
        channel_id: int,
        message_id: int,
        body: dict[str, Any],
        uploads: list[Upload],
        existing: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        by_index: dict[int, Upload] = {}
        for pos, up in enumerate(uploads):
            m = re.fullmatch(r"files\[(\d+)\]", up.field)
            by_index[int(m.group(1)) if m else pos] = up
        kept = {a["id"]: a for a in existing}

        def new(up: Upload, meta: dict[str, Any]) -> dict[str, Any]:
            if len(up.data) > ATTACHMENT_SIZE_LIMIT:
                raise DiscordError(413, 40005, "Request entity too large")
            aid = self.snowflake()
            self._attachment_data[aid] = up.data
            url = f"{self.base_url}/attachments/{channel_id}/{aid}/{up.filename}"
            att = {
                "id": str(aid),
                "filename": up.filename,
                "size": len(up.data),
                "url": url,
                "proxy_url": url,
                "content_type": mimetypes.guess_type(up.filename)[0] or "application/octet-stream",
            }
            if meta.get("description"):
                att["description"] = meta["description"]
            return att

        if "attachments" not in body:
            return list(existing) + [new(up, {}) for up in uploads]
        result, used = [], set()
        for meta in body.get("attachments") or []:
            key = str(meta.get("id"))
            if key in kept:
                result.append(kept[key])
            elif key.isdigit() and int(key) in by_index:
                used.add(int(key))
                result.append(new(by_index[int(key)], meta))
        result.extend(new(up, {}) for idx, up in by_index.items() if idx not in used)
        return result

    @staticmethod
    def _validate_message_body(body: dict[str, Any], uploads: list[Upload], *, partial: bool = False) -> None:
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            raise _form_error("content", "STRING_TYPE_CONVERT", "Could not interpret the value as a string.")
        if content and len(content) > 2000:
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        if len(body.get("embeds") or []) > 10:
            raise _form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        if partial:
            return
        has_any = (
            content
            or body.get("embeds")
            or uploads
            or body.get("attachments")
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        )
        if not has_any:
            raise DiscordError(400, 50006, "Cannot send an empty message")

    async def _apply_edit(
        self,
        msg: dict[str, Any],
        body: dict[str, Any],
        uploads: list[Upload],
        *,
        keep_components: bool = True,
        mark_edited: bool = True,
    ) -> dict[str, Any]:
        self._validate_message_body(body, uploads, partial=True)
        if "content" in body:
            msg["content"] = body["content"] or ""
            msg["mentions"], msg["mention_roles"] = self._mentions(msg["content"])
        if "embeds" in body:
            msg["embeds"] = list(body["embeds"] or [])
        if "components" in body and keep_components:
            msg["components"] = list(body["components"] or [])
        if "attachments" in body or uploads:
            msg["attachments"] = self._build_attachments(
                int(msg["channel_id"]), int(msg["id"]), body, uploads, msg["attachments"]
            )
            for up in uploads:
                up.message_id = int(msg["id"])
                self.uploads.append(up)
            msg["_files"] = msg["_files"] + uploads
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS (1 << 2) can be toggled on an existing message.
            msg["flags"] = (msg["flags"] & ~(1 << 2)) | (int(body["flags"]) & (1 << 2))
        if not (
            msg["content"]
            or msg["embeds"]
            or msg["attachments"]
            or msg["components"]
            or msg["flags"] & FLAG_LOADING
        ):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        if mark_edited:
            msg["edited_timestamp"] = now_iso()
        if not msg["flags"] & FLAG_EPHEMERAL:
            await self._dispatch("MESSAGE_UPDATE", self._gateway_message(msg))
        return msg

    async def _delete_message(self, msg: dict[str, Any]) -> None:
        mid = int(msg["id"])
        self.messages.pop(mid, None)
        self.deleted_messages.append(msg)
        if msg["flags"] & FLAG_EPHEMERAL:
            return
        data = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if msg.get("_guild_id"):
            data["guild_id"] = str(msg["_guild_id"])
        await self._dispatch("MESSAGE_DELETE", data)

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = _Conn(ws=ws, path=request.path, query=dict(request.query))
        self.gateway_connections.append(conn)
        try:
            await self._gate.wait()
            if not ws.closed:
                await self._send(
                    conn,
                    {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None},
                )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        frame = json.loads(msg.data)
                    except ValueError:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                        break
                    await self._on_frame(conn, frame)
                elif msg.type is WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
        finally:
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            conn.closed.set()
            self._notify()
        return ws

    async def _send(self, conn: _Conn, frame: dict[str, Any]) -> None:
        if conn.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.send_str(json.dumps(frame))

    async def _on_frame(self, conn: _Conn, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        self.gateway_received.append(frame)
        self._notify()
        if op == 1:
            await self._send(conn, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif op == 8:
            await self._request_members(conn, data or {})
        elif op in (3, 4):
            pass  # presence / voice state: recorded in gateway_received
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Conn, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if self.refuse_gateway_token or data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & Intents.PRIVILEGED & ~self.allowed_privileged_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and not (
            isinstance(shard, list) and len(shard) == 2 and all(isinstance(n, int) for n in shard) and 0 <= shard[0] < shard[1]
        ):
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        # A new IDENTIFY replaces the earlier session of the same shard only: other shards stay connected.
        for old in self.sessions.values():
            if old.shard == shard:
                old.valid = False
        session = _Session(session_id=uuid.uuid4().hex, intents=intents, shard=shard, conn=conn)
        self.sessions[session.session_id] = session
        conn.session = session
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds if self._on_shard(session, g)],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application["flags"]},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        async with session.lock:
            await self._emit(session, "READY", ready)
            for gid in self.guilds:
                if not self._on_shard(session, gid):
                    continue
                await self._emit(
                    session, "GUILD_CREATE", self._guild_payload(gid, full=True, intents=intents)
                )
            self.ready_count += 1

    async def _resume(self, conn: _Conn, data: dict[str, Any]) -> None:
        self.resumes.append(data)
        session = self.sessions.get(data.get("session_id", ""))
        if session is None or not session.valid or data.get("token") != self.token:
            await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            return
        old = session.conn
        if old is not None and old is not conn and not old.ws.closed:
            with contextlib.suppress(Exception):
                await old.ws.close(code=4000)
        since = data.get("seq") or 0
        async with session.lock:
            session.conn = conn
            conn.session = session
            for frame in session.buffer:
                if frame["s"] > since:
                    self.replayed.append(frame)
                    await self._send(conn, frame)
            await self._emit(session, "RESUMED", {"_trace": ["fake-discord"]})
            self.resumed_count += 1
        self._notify()

    async def _request_members(self, conn: _Conn, data: dict[str, Any]) -> None:
        session = conn.session
        if session is None:
            return
        gid = (
            int(data["guild_id"]) if not isinstance(data.get("guild_id"), list) else int(data["guild_id"][0])
        )
        guild = self.guilds.get(gid)
        if guild is None:
            return
        wanted = {int(u) for u in data.get("user_ids") or []}
        query = (data.get("query") or "").lower()
        members = [
            self._member_payload(gid, uid)
            for uid in guild["members"]
            if (not wanted or uid in wanted) and self.users[uid]["username"].lower().startswith(query)
        ]
        limit = data.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk = {
            "guild_id": str(gid),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        async with session.lock:
            await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _emit(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        """Number, buffer (for RESUME) and send one dispatch. Caller holds ``session.lock``."""
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        del session.buffer[:-2000]
        if session.conn is not None:
            await self._send(session.conn, frame)
        self._notify()

    def _wants(self, session: _Session, event: str, data: dict[str, Any]) -> bool:
        if event in _MESSAGE_EVENTS:
            need = Intents.GUILD_MESSAGES if data.get("guild_id") else Intents.DIRECT_MESSAGES
        else:
            need = _EVENT_INTENT.get(event, 0)
        return not need or bool(session.intents & need)

    def _shape(self, session: _Session, event: str, data: dict[str, Any]) -> dict[str, Any]:
        # Without the message content intent Discord blanks these fields, except on the app's own
        # messages, messages that mention it, and DMs.
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & Intents.MESSAGE_CONTENT:
            return data
        if not data.get("guild_id") or data.get("author", {}).get("id") == str(self.application_id):
            return data
        if any(u["id"] == str(self.application_id) for u in data.get("mentions", [])):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    @staticmethod
    def _on_shard(session: _Session, guild_id: int | None) -> bool:
        """Whether a session receives a guild's events: its shard's guilds; events of no guild (DMs) go to
        shard 0, as Discord sends them. An unsharded session receives everything."""
        if session.shard is None:
            return True
        shard_id, shard_count = session.shard
        if guild_id is None:
            return shard_id == 0
        return shard_of(guild_id, shard_count) == shard_id

    @staticmethod
    def _guild_of_event(event: str, data: dict[str, Any]) -> int | None:
        if data.get("guild_id"):
            return int(data["guild_id"])
        if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") and data.get("id"):
            return int(data["id"])
        return None

    def frames_on_shard(self, shard_id: int, event: str | None = None) -> list[dict[str, Any]]:
        """Dispatch frames sent on the sessions of one shard (optionally only ``event``), in order."""
        return [
            frame
            for session in self.sessions.values()
            if session.shard is not None and session.shard[0] == shard_id
            for frame in session.buffer
            if event is None or frame["t"] == event
        ]

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch to every live session that should get it (the guild's shard; buffered for RESUME
        if the socket is down)."""
        guild_id = self._guild_of_event(event, data)
        for session in list(self.sessions.values()):
            if not session.valid or not self._wants(session, event, data) or not self._on_shard(session, guild_id):
                continue
            async with session.lock:
                await self._emit(session, event, self._shape(session, event, data))
        self._notify()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an arbitrary gateway event (for events the fake has no helper for)."""
        await self._dispatch(event, data)

    def _live_conns(self) -> list[_Conn]:
        return [c for c in self.gateway_connections if not c.ws.closed and c.session is not None]

    async def force_reconnect(self, how: str = "op7", *, wait: bool = True, timeout: float = 5.0) -> None:
        """Make the client reconnect: ``"op7"`` (RECONNECT), ``"close"`` (close 4000) or ``"invalidate"``
        (op 9 ``false``: the client must IDENTIFY again). With ``wait`` returns once it has resumed/identified."""
        resumed, readies = self.resumed_count, self.ready_count
        for conn in self._live_conns():
            if how == "op7":
                await self._send(conn, {"op": 7, "d": None, "s": None, "t": None})
            elif how == "close":
                await conn.ws.close(code=4000, message=b"Unknown error.")
            elif how == "invalidate":
                await self._send(conn, {"op": 9, "d": False, "s": None, "t": None})
            else:
                raise ValueError(f"unknown reconnect kind {how!r}")
        if how == "invalidate":
            for session in self.sessions.values():
                session.valid = False
        if wait:
            if how == "invalidate":
                await self.wait_until(
                    lambda: self.ready_count > readies, timeout=timeout, what="a new IDENTIFY"
                )
            else:
                await self.wait_until(lambda: self.resumed_count > resumed, timeout=timeout, what="a RESUME")

    @contextlib.asynccontextmanager
    async def disconnected(self, code: int = 4000, timeout: float = 5.0) -> AsyncIterator[None]:
        """Close the gateway socket(s) with ``code`` and hold new connections before HELLO until the block ends.

        Events dispatched inside the block are buffered and replayed when the client RESUMEs.
        """
        self._gate.clear()
        conns = self._live_conns()
        try:
            for conn in conns:
                await conn.ws.close(code=code)
            for conn in conns:
                await asyncio.wait_for(conn.closed.wait(), timeout)
            yield
        finally:
            self._gate.set()

    async def wait_ready(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``count`` IDENTIFYs have been answered with READY and the GUILD_CREATEs."""
        await self.wait_until(lambda: self.ready_count >= count, timeout=timeout, what="READY")

    # ------------------------------------------------------------------ injection (what users do on Discord)

    def _resolve_user(self, user: int | str | dict[str, Any] | None, guild_id: int | None) -> int:
        if user is None:
            if self.layout is None:
                raise ValueError("no default user without the default layout; pass user=")
            return self.layout.member_user_id
        if isinstance(user, dict):
            return int(user["id"])
        if isinstance(user, int):
            if user not in self.users:
                raise KeyError(f"unknown user id {user}")
            return user
        for uid, data in self.users.items():
            if data["username"] == user:
                return uid
        uid = int(self.add_user(user)["id"])
        if guild_id is not None:
            roles = [self.layout.member_role_id] if self.layout and guild_id == self.layout.guild_id else []
            self.add_member(guild_id, uid, roles)
        return uid

    def _default_channel(self, channel_id: int | None) -> int:
        if channel_id is not None:
            return channel_id
        if self.layout is None:
            raise ValueError("pass channel_id= (no default layout)")
        return self.layout.general_id

    async def send_message(
        self,
        channel_id: int | None = None,
        *,
        author: int | str | dict[str, Any] | None = None,
        content: str = "",
        reply_to: int | None = None,
        webhook_id: int | None = None,
        bot: bool = False,
        embeds: list[dict[str, Any]] | None = None,
        files: list[tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """A user (or another bot, or a foreign webhook) posts a message: stored and dispatched as MESSAGE_CREATE.

        ``author`` is a user id, a username (created as a member if new) or a user dict; with ``webhook_id`` it is
        the display name of the webhook author.
        """
        cid = self._default_channel(channel_id)
        gid = self._guild_of(cid)
        if webhook_id is not None:
            name = author if isinstance(author, str) else "Captain Hook"
            author_payload = {
                "id": str(webhook_id),
                "username": name,
                "discriminator": "0000",
                "avatar": None,
                "bot": True,
                "global_name": None,
            }
        else:
            uid = self._resolve_user(author, gid)
            author_payload = self._public_user(self.users[uid])
            if bot:
                author_payload = {**author_payload, "bot": True}
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        uploads = [Upload(field=f"files[{i}]", filename=n, data=d) for i, (n, d) in enumerate(files or [])]
        extra: dict[str, Any] = {}
        msg_type = TYPE_DEFAULT
        if reply_to is not None:
            target = self.messages[reply_to]
            extra = {
                "message_reference": {
                    "type": 0,
                    "message_id": str(reply_to),
                    "channel_id": target["channel_id"],
                    **({"guild_id": str(gid)} if gid else {}),
                },
                "_reference_id": reply_to,
            }
            msg_type = TYPE_REPLY
        msg = self._new_message(
            cid,
            author=author_payload,
            body=body,
            uploads=uploads,
            source="user",
            msg_type=msg_type,
            webhook_id=webhook_id,
            extra=extra,
        )
        self._store_in_channel(msg)
        await self._dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return msg

    async def edit_message(self, message_id: int, content: str) -> dict[str, Any]:
        """A user edits their message: MESSAGE_UPDATE."""
        return await self._apply_edit(self.messages[message_id], {"content": content}, [])

    async def delete_message(self, message_id: int) -> None:
        """A user (or moderator) deletes a message: MESSAGE_DELETE."""
        await self._delete_message(self.messages[message_id])

    async def delete_webhook(self, webhook_id: int) -> None:
        """Someone deletes a webhook behind the bot's back: later executes get 404 / 10015."""
        hook = self.webhooks.pop(webhook_id)
        await self._dispatch(
            "WEBHOOKS_UPDATE", {"guild_id": hook["guild_id"], "channel_id": hook["channel_id"]}
        )

    async def set_role_permissions(self, role_id: int, permissions: int, guild_id: int | None = None) -> None:
        """Change a role's permissions (GUILD_ROLE_UPDATE), e.g. take Manage Webhooks from the bot's role."""
        gid = guild_id or next(g for g, d in self.guilds.items() if role_id in d["roles"])
        role = self.guilds[gid]["roles"][role_id]
        role["permissions"] = str(permissions)
        await self._dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(gid), "role": role})

    async def join_member(self, guild_id: int, username: str, role_ids: Iterable[int] = ()) -> int:
        """A new user joins a guild: GUILD_MEMBER_ADD (needs the members intent to be seen)."""
        uid = int(self.add_user(username)["id"])
        member = self.add_member(guild_id, uid, role_ids)
        await self._dispatch("GUILD_MEMBER_ADD", {**member, "guild_id": str(guild_id)})
        return uid

    def _interaction_payload(
        self,
        itype: int,
        data: dict[str, Any],
        *,
        user: int | str | dict[str, Any] | None,
        channel_id: int | None,
        guild_id: int | None = None,
        message: dict[str, Any] | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        cid = self._default_channel(channel_id)
        gid = guild_id or self._guild_of(cid)
        uid = self._resolve_user(user, gid)
        perms = self._channel_perms(cid, uid)
        payload: dict[str, Any] = {
            "id": str(self.snowflake()),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "channel_id": str(cid),
            "channel": {**self.channels[cid], "permissions": str(perms)},
            "token": "fake-itoken." + secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(self._channel_perms(cid, self.application_id)),
            "locale": locale,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(gid)} if gid else {"1": str(uid)},
            "context": 0 if gid else 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if gid is not None:
            guild_locale = self.guilds[gid].get("preferred_locale", "en-US")
            payload.update(
                guild_id=str(gid),
                guild={"id": str(gid), "locale": guild_locale, "features": []},
                guild_locale=guild_locale,
                member={**self._member_payload(gid, uid), "permissions": str(perms)},
            )
        else:
            payload["user"] = self._public_user(self.users[uid])
        if message is not None:
            payload["message"] = self._rest_message(message)
        return payload

    async def _inject_interaction(
        self, payload: dict[str, Any], source_message_id: int | None = None
    ) -> InteractionHandle:
        handle = InteractionHandle(self, payload, source_message_id)
        self.interactions[handle.id] = handle
        await self._dispatch("INTERACTION_CREATE", payload)
        return handle

    def _command_data(
        self,
        name: str,
        options: list[dict[str, Any]] | dict[str, Any] | None,
        guild_id: int | None,
        command_guild_id: int | None,
    ) -> dict[str, Any]:
        path = name.split()
        opts = self._normalise_options(options)
        if len(path) == 3:
            opts = [{"name": path[1], "type": 2, "options": [{"name": path[2], "type": 1, "options": opts}]}]
        elif len(path) == 2:
            opts = [{"name": path[1], "type": 1, "options": opts}]
        elif len(path) != 1:
            raise ValueError(f"bad command path {name!r}")
        root = path[0]
        scope = command_guild_id
        synced = None
        if scope is None and guild_id is not None:
            synced = next((c for c in self.commands.get(guild_id, []) if c["name"] == root), None)
            if synced is not None:
                scope = guild_id
        if synced is None:
            synced = next((c for c in self.commands.get(scope, []) if c["name"] == root), None)
        data: dict[str, Any] = {
            "id": synced["id"] if synced else str(self.snowflake()),
            "name": root,
            "type": 1,
            "options": opts,
        }
        if scope is not None:
            data["guild_id"] = str(scope)
        resolved = self._resolve_options(opts, guild_id)
        if resolved:
            data["resolved"] = resolved
        return data

    @staticmethod
    def _normalise_options(options: list[dict[str, Any]] | dict[str, Any] | None) -> list[dict[str, Any]]:
        if options is None:
            return []
        if isinstance(options, list):
            return [dict(o) for o in options]
        out = []
        for key, value in options.items():
            if isinstance(value, dict) and "filename" in value:
                out.append({"name": key, "type": 11, "value": value["id"]})
                continue
            if isinstance(value, bool):
                kind = 5
            elif isinstance(value, int):
                kind = 4
            elif isinstance(value, float):
                kind = 10
            else:
                kind = 3
            out.append({"name": key, "type": kind, "value": value})
        return out

    def stage_attachment(self, filename: str, data: bytes, channel_id: int | None = None) -> dict[str, Any]:
        """A file a user picked for a slash command's attachment option (type 11): pass ``{"file": att}``."""
        aid = self.snowflake()
        self._attachment_data[aid] = data
        url = f"{self.base_url}/attachments/{channel_id or 0}/{aid}/{filename}"
        att = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        }
        self._staged_attachments[str(aid)] = att
        return att

    def _resolve_options(self, options: list[dict[str, Any]], guild_id: int | None) -> dict[str, Any]:
        resolved: dict[str, dict[str, Any]] = {}
        stack = list(options)
        while stack:
            opt = stack.pop()
            stack.extend(opt.get("options", []))
            kind, value = opt.get("type"), opt.get("value")
            if kind == 11 and str(value) in self._staged_attachments:
                resolved.setdefault("attachments", {})[str(value)] = self._staged_attachments[str(value)]
                continue
            if value is None or kind not in (6, 7, 8, 9):
                continue
            ident = int(value)
            if kind in (6, 9) and ident in self.users:
                resolved.setdefault("users", {})[str(ident)] = self._public_user(self.users[ident])
                if guild_id and ident in self.guilds[guild_id]["members"]:
                    member = self._member_payload(guild_id, ident, with_user=False)
                    member["permissions"] = str(self.member_permissions(guild_id, ident))
                    resolved.setdefault("members", {})[str(ident)] = member
            elif kind == 7 and ident in self.channels:
                ch = self.channels[ident]
                info = {k: ch[k] for k in ("id", "type", "name", "parent_id", "thread_metadata") if k in ch}
                info["permissions"] = str(Perms.ALL)
                resolved.setdefault("channels", {})[str(ident)] = info
            elif kind in (8, 9) and guild_id and ident in self.guilds[guild_id]["roles"]:
                resolved.setdefault("roles", {})[str(ident)] = self.guilds[guild_id]["roles"][ident]
        return resolved

    async def invoke_slash(
        self,
        name: str,
        options: list[dict[str, Any]] | dict[str, Any] | None = None,
        *,
        user: int | str | dict[str, Any] | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        command_guild_id: int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """A user runs ``/name`` (``"group sub"`` nests subcommands): INTERACTION_CREATE type 2.

        ``options`` is Discord's list of ``{name, type, value}`` or a ``{name: value}`` dict (types inferred).
        ``data.guild_id`` is set when the command was synced to that guild (or ``command_guild_id`` is given).
        ``locale`` is the user's client language (the server's own is ``add_guild(locale=...)``).
        """
        cid = self._default_channel(channel_id)
        gid = guild_id or self._guild_of(cid)
        data = self._command_data(name, options, gid, command_guild_id)
        return await self._inject_interaction(
            self._interaction_payload(2, data, user=user, channel_id=cid, guild_id=gid, locale=locale)
        )

    async def invoke_autocomplete(
        self,
        name: str,
        options: list[dict[str, Any]] | dict[str, Any] | None,
        focused: str,
        *,
        user: int | str | dict[str, Any] | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        command_guild_id: int | None = None,
    ) -> InteractionHandle:
        """A user types into option ``focused``: INTERACTION_CREATE type 4; the answer is a type 8 callback."""
        cid = self._default_channel(channel_id)
        gid = guild_id or self._guild_of(cid)
        data = self._command_data(name, options, gid, command_guild_id)
        stack = list(data["options"])
        while stack:
            opt = stack.pop()
            stack.extend(opt.get("options", []))
            if opt["name"] == focused and "value" in opt:
                opt["focused"] = True
        return await self._inject_interaction(
            self._interaction_payload(4, data, user=user, channel_id=cid, guild_id=gid)
        )

    async def click_button(
        self,
        message_id: int,
        custom_id: str,
        *,
        user: int | str | dict[str, Any] | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """A user clicks a button (or picks from a select, ``component_type=3, values=[...]``): type 3."""
        msg = self.messages[message_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        payload = self._interaction_payload(
            3, data, user=user, channel_id=int(msg["channel_id"]), message=msg, locale=locale
        )
        return await self._inject_interaction(payload, source_message_id=message_id)

    async def select_menu(
        self,
        message_id: int,
        custom_id: str,
        values: list[str],
        *,
        user: int | str | dict[str, Any] | None = None,
    ) -> InteractionHandle:
        return await self.click_button(message_id, custom_id, user=user, component_type=3, values=values)

    async def submit_modal(self, shown_by: InteractionHandle, values: dict[str, str]) -> InteractionHandle:
        """The user who got the modal (callback type 9 on ``shown_by``) submits it: type 5."""
        modal = shown_by.modal
        if modal is None:
            raise ValueError("that interaction did not answer with a modal")
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        payload = self._interaction_payload(
            5,
            data,
            user=shown_by.user_id,
            channel_id=shown_by.channel_id,
            message=self.messages.get(shown_by.source_message_id or 0),
        )
        return await self._inject_interaction(payload, source_message_id=shown_by.source_message_id)

    # ------------------------------------------------------------------ REST plumbing

    def _route_table(self) -> list[tuple[str, str, Handler, bool]]:
        r: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", "/users/{user_id}", self._get_user, True),
            ("POST", "/users/@me/channels", self._create_dm, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("PUT", "/applications/{app}/commands", self._put_commands, True),
            ("GET", "/applications/{app}/commands", self._get_commands, True),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands, True),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands, True),
            ("GET", "/channels/{channel}", self._get_channel, True),
            ("POST", "/channels/{channel}/messages", self._create_message, True),
            ("GET", "/channels/{channel}/messages", self._list_messages, True),
            ("GET", "/channels/{channel}/messages/{message}", self._get_message, True),
            ("PATCH", "/channels/{channel}/messages/{message}", self._edit_message, True),
            ("DELETE", "/channels/{channel}/messages/{message}", self._delete_message_route, True),
            ("PUT", "/channels/{channel}/messages/{message}/reactions/{emoji}/@me", self._add_reaction, True),
            (
                "DELETE",
                "/channels/{channel}/messages/{message}/reactions/{emoji}/@me",
                self._remove_reaction,
                True,
            ),
            ("POST", "/channels/{channel}/messages/{message}/threads", self._create_thread, True),
            ("POST", "/channels/{channel}/threads", self._create_thread, True),
            ("PUT", "/channels/{channel}/thread-members/@me", self._no_content, True),
            ("POST", "/channels/{channel}/typing", self._typing, True),
            ("POST", "/channels/{channel}/webhooks", self._create_webhook, True),
            ("GET", "/channels/{channel}/webhooks", self._channel_webhooks, True),
            ("GET", "/guilds/{guild}", self._get_guild, True),
            ("GET", "/guilds/{guild}/channels", self._guild_channels, True),
            ("GET", "/guilds/{guild}/threads/active", self._active_threads, True),
            ("GET", "/guilds/{guild}/roles", self._guild_roles, True),
            ("GET", "/guilds/{guild}/members", self._list_members, True),
            ("GET", "/guilds/{guild}/members/{user_id}", self._get_member, True),
            ("GET", "/guilds/{guild}/webhooks", self._guild_webhooks, True),
            ("GET", "/webhooks/{webhook}", self._get_webhook, True),
            ("PATCH", "/webhooks/{webhook}", self._edit_webhook, True),
            ("DELETE", "/webhooks/{webhook}", self._delete_webhook_route, True),
            ("GET", "/webhooks/{webhook}/{token}", self._get_webhook, False),
            ("PATCH", "/webhooks/{webhook}/{token}", self._edit_webhook, False),
            ("DELETE", "/webhooks/{webhook}/{token}", self._delete_webhook_route, False),
            ("POST", "/webhooks/{webhook}/{token}", self._execute_webhook, False),
            ("GET", "/webhooks/{webhook}/{token}/messages/{message}", self._webhook_message, False),
            ("PATCH", "/webhooks/{webhook}/{token}/messages/{message}", self._webhook_message, False),
            ("DELETE", "/webhooks/{webhook}/{token}/messages/{message}", self._webhook_message, False),
            ("POST", "/interactions/{interaction}/{token}/callback", self._interaction_callback, False),
        ]
        return r

    def _route(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        segments = path.strip("/").split("/")
        for m, template, handler, auth in self._routes:
            if m != method:
                continue
            parts = template.strip("/").split("/")
            if len(parts) != len(segments):
                continue
            params: dict[str, str] = {}
            for want, got in zip(parts, segments, strict=True):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return handler, params, auth
        return None, {}, False

    async def _read_body(self, request: web.Request) -> tuple[Any, list[Upload]]:
        if not request.can_read_body:
            return None, []
        if request.content_type == "multipart/form-data":
            payload: Any = None
            uploads: list[Upload] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: discord.py never sends one
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                elif part.filename is not None:
                    data = bytes(await part.read(decode=False))
                    uploads.append(
                        Upload(
                            field=part.name or "",
                            filename=part.filename,
                            data=data,
                            content_type=part.headers.get("Content-Type"),
                        )
                    )
            return payload, uploads
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
        if status == 204:
            return web.Response(status=204, headers=headers)
        # Exactly application/json: discord.py compares the header verbatim (json_response adds a charset).
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        reason = request.headers.get("X-Audit-Log-Reason")
        call = Call(
            method=method,
            path=path,
            query=dict(request.query),
            json=None,
            reason=unquote(reason) if reason else None,
            authorized=request.headers.get("Authorization") == f"Bot {self.token}",
        )
        self.calls.append(call)
        headers: dict[str, str] = {}
        try:
            try:
                call.json, call.files = await self._read_body(request)
            except ValueError as exc:
                raise DiscordError(400, 50109, "The request body contains invalid JSON.") from exc
            failure = self._take_failure(method, path)
            if failure is not None:
                raise failure
            handler, params, auth = self._route(method, path)
            if handler is None:
                self.unhandled.append(call)
                raise DiscordError(404, 0, "404: Not Found")
            if auth and not call.authorized:
                raise DiscordError(401, 0, "401: Unauthorized")
            status, body = await handler(call, **params)
        except DiscordError as exc:
            status, body, headers = exc.status, exc.body(), exc.headers()
        call.status = status
        self._notify()
        return self._json(status, body, headers)

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        data = self._attachment_data.get(int(request.match_info["attachment"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ REST lookups

    @staticmethod
    def _id(value: str, error: DiscordError) -> int:
        if not value.isdigit():
            raise error
        return int(value)

    def _channel(self, value: str) -> dict[str, Any]:
        cid = self._id(value, DiscordError(404, 10003, "Unknown Channel"))
        channel = self.channels.get(cid)
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _guild(self, value: str) -> dict[str, Any]:
        gid = self._id(value, DiscordError(404, 10004, "Unknown Guild"))
        if gid not in self.guilds:
            raise DiscordError(404, 10004, "Unknown Guild")
        return self.guilds[gid]

    def _message(self, channel: dict[str, Any], value: str) -> dict[str, Any]:
        mid = self._id(value, DiscordError(404, 10008, "Unknown Message"))
        msg = self.messages.get(mid)
        if msg is None or msg["channel_id"] != channel["id"] or msg["flags"] & FLAG_EPHEMERAL:
            raise DiscordError(404, 10008, "Unknown Message")
        return msg

    def _require(self, channel: dict[str, Any], perm: int) -> None:
        perms = self._channel_perms(int(channel["id"]), self.application_id)
        if not perms & Perms.VIEW_CHANNEL:
            raise DiscordError(403, 50001, "Missing Access")
        if not perms & perm:
            raise DiscordError(403, 50013, "Missing Permissions")

    def _check_app(self, app: str) -> None:
        if app != str(self.application_id):
            raise DiscordError(403, 50001, "Missing Access")

    # ------------------------------------------------------------------ REST: users, app, gateway

    async def _get_me(self, call: Call) -> tuple[int, Any]:
        return 200, self.bot_user

    async def _get_user(self, call: Call, user_id: str) -> tuple[int, Any]:
        uid = self._id(user_id, DiscordError(404, 10013, "Unknown User"))
        if uid not in self.users:
            raise DiscordError(404, 10013, "Unknown User")
        return 200, self._public_user(self.users[uid])

    async def _create_dm(self, call: Call) -> tuple[int, Any]:
        uid = int((call.json or {}).get("recipient_id", 0))
        if uid not in self.users:
            raise DiscordError(400, 50035, "Invalid Form Body")
        for ch in self.channels.values():
            if ch["type"] == 1 and ch["recipients"][0]["id"] == str(uid):
                return 200, ch
        cid = self.snowflake()
        self.channels[cid] = {
            "id": str(cid),
            "type": 1,
            "last_message_id": None,
            "flags": 0,
            "recipients": [self._public_user(self.users[uid])],
        }
        self._channel_messages[cid] = []
        return 200, self.channels[cid]

    async def _get_application(self, call: Call) -> tuple[int, Any]:
        return 200, self.application

    async def _get_gateway(self, call: Call) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": self.max_concurrency,
            },
        }

    # ------------------------------------------------------------------ REST: application commands

    async def _put_commands(self, call: Call, app: str, guild: str | None = None) -> tuple[int, Any]:
        self._check_app(app)
        scope = None
        if guild is not None:
            scope = int(self._guild(guild)["id"])
        body = call.json
        if not isinstance(body, list):
            raise DiscordError(400, 50035, "Invalid Form Body")
        if len(body) > 100:
            raise DiscordError(400, 30032, "Maximum number of application commands reached (100)")
        existing = {(c["name"], c["type"]): c for c in self.commands.get(scope, [])}
        seen: set[tuple[str, int]] = set()
        result = []
        for index, cmd in enumerate(body):
            kind = int(cmd.get("type", 1))
            name = cmd.get("name", "")
            description = cmd.get("description", "")
            if kind == 1 and (not _NAME_RE.match(name) or name != name.lower()):
                raise _form_error(
                    f"{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                )
            if kind == 1 and not 1 <= len(description) <= 100:
                raise _form_error(
                    f"{index}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            for locale, localized in (cmd.get("name_localizations") or {}).items():
                if kind == 1 and (not _NAME_RE.match(localized) or localized != localized.lower()):
                    raise _form_error(
                        f"{index}.name_localizations.{locale}", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"
                    )
            for locale, localized in (cmd.get("description_localizations") or {}).items():
                if kind == 1 and not 1 <= len(localized) <= 100:
                    raise _form_error(
                        f"{index}.description_localizations.{locale}", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                    )
            if kind == 1:
                _check_options(cmd.get("options") or [], str(index))
            if (name, kind) in seen:
                raise _form_error(
                    f"{index}.name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add((name, kind))
            old = existing.get((name, kind))
            stored = {
                "id": old["id"] if old else str(self.snowflake()),
                "application_id": str(self.application_id),
                "version": str(self.snowflake()),
                "type": kind,
                "name": name,
                "name_localizations": cmd.get("name_localizations"),
                "description": description if kind == 1 else "",
                "description_localizations": cmd.get("description_localizations"),
                "options": cmd.get("options", []),
                "default_member_permissions": cmd.get("default_member_permissions"),
                "dm_permission": cmd.get("dm_permission", True),
                "nsfw": cmd.get("nsfw", False),
                "contexts": cmd.get("contexts"),
                "integration_types": cmd.get("integration_types", [0]),
            }
            if scope is not None:
                stored["guild_id"] = str(scope)
            result.append(stored)
        self.commands[scope] = result
        return 200, result

    async def _get_commands(self, call: Call, app: str, guild: str | None = None) -> tuple[int, Any]:
        self._check_app(app)
        scope = None if guild is None else int(self._guild(guild)["id"])
        return 200, self.commands.get(scope, [])

    # ------------------------------------------------------------------ REST: channels and messages

    async def _get_channel(self, call: Call, channel: str) -> tuple[int, Any]:
        return 200, self._channel(channel)

    async def _create_message(self, call: Call, channel: str) -> tuple[int, Any]:
        ch = self._channel(channel)
        cid = int(ch["id"])
        self._require(
            ch, Perms.SEND_MESSAGES_IN_THREADS if ch["type"] in THREAD_TYPES else Perms.SEND_MESSAGES
        )
        body = call.json or {}
        self._validate_message_body(body, call.files)
        if call.files:
            self._require(ch, Perms.ATTACH_FILES)
        extra: dict[str, Any] = {}
        msg_type = TYPE_DEFAULT
        ref = body.get("message_reference")
        if ref:
            target_id = int(ref.get("message_id", 0))
            target = self.messages.get(target_id)
            if target is None and ref.get("fail_if_not_exists", True):
                raise _form_error("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
            if target is not None:
                gid = self._guild_of(cid)
                extra = {
                    "message_reference": {
                        "type": 0,
                        "message_id": str(target_id),
                        "channel_id": target["channel_id"],
                        **({"guild_id": str(gid)} if gid else {}),
                    },
                    "_reference_id": target_id,
                }
                msg_type = TYPE_REPLY
        msg = self._new_message(
            cid,
            author=self._public_user(self.bot_user),
            body=body,
            uploads=call.files,
            source="bot",
            msg_type=msg_type,
            flags=int(body.get("flags") or 0) & SETTABLE_FLAGS,
            extra=extra,
        )
        self._store_in_channel(msg)
        await self._dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return 200, self._rest_message(msg)

    async def _list_messages(self, call: Call, channel: str) -> tuple[int, Any]:
        ch = self._channel(channel)
        self._require(ch, Perms.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(call.query.get("limit", 50))))
        msgs = self.messages_in(int(ch["id"]))
        if "before" in call.query:
            msgs = [m for m in msgs if int(m["id"]) < int(call.query["before"])]
        if "after" in call.query:
            msgs = [m for m in msgs if int(m["id"]) > int(call.query["after"])]
            msgs = msgs[:limit]
        if "around" in call.query:
            around = int(call.query["around"])
            older = [m for m in msgs if int(m["id"]) <= around][-((limit + 1) // 2) :]
            newer = [m for m in msgs if int(m["id"]) > around][: limit // 2]
            msgs = older + newer
        msgs = msgs[-limit:]
        return 200, [self._rest_message(m) for m in reversed(msgs)]

    async def _get_message(self, call: Call, channel: str, message: str) -> tuple[int, Any]:
        return 200, self._rest_message(self._message(self._channel(channel), message))

    async def _edit_message(self, call: Call, channel: str, message: str) -> tuple[int, Any]:
        msg = self._message(self._channel(channel), message)
        if msg["author"]["id"] != str(self.application_id):
            # Webhook messages (author = the webhook) must be edited through the webhook's token.
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        await self._apply_edit(msg, call.json or {}, call.files)
        return 200, self._rest_message(msg)

    async def _delete_message_route(self, call: Call, channel: str, message: str) -> tuple[int, Any]:
        ch = self._channel(channel)
        msg = self._message(ch, message)
        if msg["author"]["id"] != str(self.application_id):
            self._require(ch, Perms.MANAGE_MESSAGES)
        await self._delete_message(msg)
        return 204, None

    async def _add_reaction(self, call: Call, channel: str, message: str, emoji: str) -> tuple[int, Any]:
        ch = self._channel(channel)
        msg = self._message(ch, message)
        self._require(ch, Perms.ADD_REACTIONS)
        name = unquote(emoji)
        reactions = msg.setdefault("reactions", [])
        entry = next((r for r in reactions if r["emoji"]["name"] == name), None)
        if entry is None:
            reactions.append(
                {
                    "emoji": {"id": None, "name": name},
                    "count": 1,
                    "me": True,
                    "count_details": {"burst": 0, "normal": 1},
                    "burst_colors": [],
                    "me_burst": False,
                }
            )
        elif not entry["me"]:
            entry["count"] += 1
            entry["me"] = True
        data: dict[str, Any] = {
            "user_id": str(self.application_id),
            "channel_id": ch["id"],
            "message_id": msg["id"],
            "emoji": {"id": None, "name": name},
            "burst": False,
            "type": 0,
        }
        if msg.get("_guild_id"):
            data["guild_id"] = str(msg["_guild_id"])
            data["member"] = self._member_payload(msg["_guild_id"], self.application_id)
        await self._dispatch("MESSAGE_REACTION_ADD", data)
        return 204, None

    async def _remove_reaction(self, call: Call, channel: str, message: str, emoji: str) -> tuple[int, Any]:
        msg = self._message(self._channel(channel), message)
        name = unquote(emoji)
        msg["reactions"] = [
            r for r in msg.get("reactions", []) if not (r["emoji"]["name"] == name and r["count"] == 1)
        ]
        return 204, None

    async def _create_thread(self, call: Call, channel: str, message: str | None = None) -> tuple[int, Any]:
        ch = self._channel(channel)
        self._require(ch, Perms.CREATE_PUBLIC_THREADS)
        body = call.json or {}
        name = body.get("name", "")
        if not 1 <= len(name) <= 100:
            raise _form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        thread_id = None
        if message is not None:
            self._message(ch, message)
            thread_id = int(message)  # Discord reuses the starter message's id
        tid = self.add_thread(int(ch["id"]), name, thread_id=thread_id, thread_type=int(body.get("type", 11)))
        thread = self.channels[tid]
        thread["thread_metadata"]["auto_archive_duration"] = int(body.get("auto_archive_duration", 1440))
        thread["member"] = {
            "id": str(tid),
            "user_id": str(self.application_id),
            "join_timestamp": now_iso(),
            "flags": 1,
        }
        await self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return 201, thread

    async def _no_content(self, call: Call, **_: str) -> tuple[int, Any]:
        return 204, None

    async def _typing(self, call: Call, channel: str) -> tuple[int, Any]:
        self.typing.append(int(self._channel(channel)["id"]))
        return 204, None

    # ------------------------------------------------------------------ REST: guilds

    async def _get_guild(self, call: Call, guild: str) -> tuple[int, Any]:
        g = self._guild(guild)
        payload = self._guild_payload(g["id"], full=False)
        if call.query.get("with_counts") in ("true", "1", "True"):
            payload["approximate_member_count"] = len(g["members"])
            payload["approximate_presence_count"] = 0
        return 200, payload

    async def _guild_channels(self, call: Call, guild: str) -> tuple[int, Any]:
        return 200, [self.channels[c] for c in self._guild(guild)["channel_ids"]]

    async def _active_threads(self, call: Call, guild: str) -> tuple[int, Any]:
        g = self._guild(guild)
        threads = [
            c
            for c in self.channels.values()
            if c.get("guild_id") == str(g["id"]) and c["type"] in THREAD_TYPES
        ]
        return 200, {"threads": threads, "members": []}

    async def _guild_roles(self, call: Call, guild: str) -> tuple[int, Any]:
        return 200, list(self._guild(guild)["roles"].values())

    async def _list_members(self, call: Call, guild: str) -> tuple[int, Any]:
        g = self._guild(guild)
        limit = max(1, min(1000, int(call.query.get("limit", 1))))
        after = int(call.query.get("after", 0))
        ids = sorted(u for u in g["members"] if u > after)[:limit]
        return 200, [self._member_payload(g["id"], u) for u in ids]

    async def _get_member(self, call: Call, guild: str, user_id: str) -> tuple[int, Any]:
        g = self._guild(guild)
        uid = self._id(user_id, DiscordError(404, 10007, "Unknown Member"))
        if uid not in g["members"]:
            raise DiscordError(404, 10007, "Unknown Member")
        return 200, self._member_payload(g["id"], uid)

    # ------------------------------------------------------------------ REST: webhooks

    def _webhook_out(self, hook: dict[str, Any], *, with_user: bool = True) -> dict[str, Any]:
        out = dict(hook)
        if not with_user:
            out.pop("user", None)
        return out

    @staticmethod
    def _validate_webhook_name(name: Any, field_name: str = "name") -> None:
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise _form_error(field_name, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
        lowered = name.lower()
        for word in ("clyde", "discord"):
            if word in lowered:
                raise _form_error(
                    field_name, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{word}"'
                )

    async def _create_webhook(self, call: Call, channel: str) -> tuple[int, Any]:
        ch = self._channel(channel)
        if ch["type"] in THREAD_TYPES or ch["type"] == 1:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        self._require(ch, Perms.MANAGE_WEBHOOKS)
        body = call.json or {}
        self._validate_webhook_name(body.get("name"))
        if len(self.webhooks_in(int(ch["id"]))) >= 15:
            raise DiscordError(400, 30007, "Maximum number of webhooks reached (15)")
        hook = self.add_webhook(int(ch["id"]), body["name"])
        if body.get("avatar"):
            hook["avatar"] = uuid.uuid4().hex
        await self._dispatch(
            "WEBHOOKS_UPDATE", {"guild_id": hook["guild_id"], "channel_id": hook["channel_id"]}
        )
        return 200, self._webhook_out(hook)

    async def _channel_webhooks(self, call: Call, channel: str) -> tuple[int, Any]:
        ch = self._channel(channel)
        self._require(ch, Perms.MANAGE_WEBHOOKS)
        return 200, [self._webhook_out(h) for h in self.webhooks_in(int(ch["id"]))]

    async def _guild_webhooks(self, call: Call, guild: str) -> tuple[int, Any]:
        g = self._guild(guild)
        return 200, [self._webhook_out(h) for h in self.webhooks.values() if h["guild_id"] == str(g["id"])]

    def _webhook(self, webhook: str, token: str | None) -> dict[str, Any]:
        wid = self._id(webhook, DiscordError(404, 10015, "Unknown Webhook"))
        hook = self.webhooks.get(wid)
        if hook is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if token is not None and token != hook["token"]:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return hook

    async def _get_webhook(self, call: Call, webhook: str, token: str | None = None) -> tuple[int, Any]:
        return 200, self._webhook_out(self._webhook(webhook, token), with_user=token is None)

    async def _edit_webhook(self, call: Call, webhook: str, token: str | None = None) -> tuple[int, Any]:
        hook = self._webhook(webhook, token)
        body = call.json or {}
        if "name" in body:
            self._validate_webhook_name(body["name"])
            hook["name"] = body["name"]
        if "avatar" in body:
            hook["avatar"] = uuid.uuid4().hex if body["avatar"] else None
        if "channel_id" in body and token is None:
            hook["channel_id"] = self._channel(str(body["channel_id"]))["id"]
        return 200, self._webhook_out(hook, with_user=token is None)

    async def _delete_webhook_route(
        self, call: Call, webhook: str, token: str | None = None
    ) -> tuple[int, Any]:
        hook = self._webhook(webhook, token)
        await self.delete_webhook(int(hook["id"]))
        return 204, None

    def _interaction_for(self, webhook: str, token: str) -> InteractionHandle | None:
        if webhook != str(self.application_id):
            return None
        return next((h for h in self.interactions.values() if h.token == token), None)

    def _target_channel(self, hook: dict[str, Any], thread_id: str | None) -> int:
        if not thread_id:
            return int(hook["channel_id"])
        thread = self._channel(thread_id)
        if thread["type"] not in THREAD_TYPES or thread.get("parent_id") != hook["channel_id"]:
            raise DiscordError(400, 10003, "Unknown Channel")
        return int(thread["id"])

    async def _execute_webhook(self, call: Call, webhook: str, token: str) -> tuple[int, Any]:
        wait = call.query.get("wait", "false").lower() in ("1", "true")
        handle = self._interaction_for(webhook, token)
        if handle is not None:
            msg = await self._followup(handle, call)
            return (200, self._rest_message(msg)) if wait else (204, None)
        hook = self._webhook(webhook, token)
        cid = self._target_channel(hook, call.query.get("thread_id"))
        body = dict(call.json or {})
        if call.query.get("with_components", "false").lower() not in ("1", "true"):
            # Discord ignores components on webhook executes unless with_components is set.
            body.pop("components", None)
        self._validate_message_body(body, call.files)
        if body.get("username") is not None:
            self._validate_webhook_name(body["username"], "username")
        author = {
            "id": hook["id"],
            "username": body.get("username") or hook["name"],
            "discriminator": "0000",
            "avatar": hook["avatar"],
            "bot": True,
            "global_name": None,
        }
        extra: dict[str, Any] = {"_avatar_url": body.get("avatar_url")}
        if hook.get("application_id"):
            extra["application_id"] = hook["application_id"]
        msg = self._new_message(
            cid,
            author=author,
            body=body,
            uploads=call.files,
            source="webhook",
            webhook_id=int(hook["id"]),
            flags=int(body.get("flags") or 0) & SETTABLE_FLAGS,
            extra=extra,
        )
        self._store_in_channel(msg)
        await self._dispatch("MESSAGE_CREATE", self._gateway_message(msg))
        return (200, self._rest_message(msg)) if wait else (204, None)

    async def _webhook_message(self, call: Call, webhook: str, token: str, message: str) -> tuple[int, Any]:
        handle = self._interaction_for(webhook, token)
        if handle is not None:
            if message == "@original":
                if handle.original_id is None:
                    raise DiscordError(404, 10008, "Unknown Message")
                mid = handle.original_id
            else:
                mid = self._id(message, DiscordError(404, 10008, "Unknown Message"))
                if mid not in handle.followup_ids and mid != handle.original_id:
                    raise DiscordError(404, 10008, "Unknown Message")
            keep_components = True
        else:
            hook = self._webhook(webhook, token)
            mid = self._id(message, DiscordError(404, 10008, "Unknown Message"))
            stored = self.messages.get(mid)
            if stored is None or stored.get("webhook_id") != hook["id"]:
                raise DiscordError(404, 10008, "Unknown Message")
            keep_components = call.query.get("with_components", "false").lower() in ("1", "true")
        msg = self.messages.get(mid)
        if msg is None:
            raise DiscordError(404, 10008, "Unknown Message")
        if call.method == "GET":
            return 200, self._rest_message(msg)
        if call.method == "DELETE":
            await self._delete_message(msg)
            return 204, None
        finishing = bool(msg["flags"] & FLAG_LOADING)
        if finishing:
            msg["flags"] &= ~FLAG_LOADING
        await self._apply_edit(
            msg, call.json or {}, call.files, keep_components=keep_components, mark_edited=not finishing
        )
        return 200, self._rest_message(msg)

    # ------------------------------------------------------------------ REST: interactions

    def _interaction_message(
        self, handle: InteractionHandle, body: dict[str, Any], uploads: list[Upload], *, flags: int
    ) -> dict[str, Any]:
        user = (handle.payload.get("member") or {}).get("user") or handle.payload.get("user")
        metadata: dict[str, Any] = {
            "id": str(handle.id),
            "type": handle.type,
            "user": user,
            "authorizing_integration_owners": handle.payload["authorizing_integration_owners"],
        }
        if handle.type == 2:
            metadata["name"] = handle.payload["data"]["name"]
        if handle.source_message_id is not None:
            metadata["interacted_message_id"] = str(handle.source_message_id)
        msg = self._new_message(
            handle.channel_id,
            author=self._public_user(self.bot_user),
            body=body,
            uploads=uploads,
            source="interaction",
            msg_type=TYPE_CHAT_INPUT if handle.type == 2 else TYPE_DEFAULT,
            flags=flags,
            webhook_id=self.application_id,
            extra={
                "application_id": str(self.application_id),
                "interaction_metadata": metadata,
                "_interaction_id": handle.id,
            },
        )
        return msg

    async def _publish(self, msg: dict[str, Any]) -> None:
        if msg["flags"] & FLAG_EPHEMERAL:
            return  # ephemeral messages exist only for the invoking user: no channel entry, no gateway event
        self._store_in_channel(msg)
        await self._dispatch("MESSAGE_CREATE", self._gateway_message(msg))

    async def _interaction_callback(self, call: Call, interaction: str, token: str) -> tuple[int, Any]:
        iid = self._id(interaction, DiscordError(404, 10062, "Unknown interaction"))
        handle = self.interactions.get(iid)
        if handle is None or handle.token != token:
            raise DiscordError(404, 10062, "Unknown interaction")
        if handle.acknowledged:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() > handle.deadline:
            raise DiscordError(404, 10062, "Unknown interaction")
        body = call.json or {}
        kind = body.get("type")
        data = body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}.get(handle.type, set())
        if kind not in allowed:
            raise _form_error(
                "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"
            )
        info: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        result: dict[str, Any] = {"interaction": info}
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) & (FLAG_EPHEMERAL | SETTABLE_FLAGS)
            if kind == 4:
                self._validate_message_body(data, call.files)
            else:
                flags |= FLAG_LOADING
                data = {}
            msg = self._interaction_message(handle, data, call.files, flags=flags)
            handle.callbacks.append({"type": kind, "data": body.get("data") or {}})
            handle.original_id = int(msg["id"])
            await self._publish(msg)
            info.update(
                response_message_id=msg["id"],
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(flags & FLAG_EPHEMERAL),
            )
            result["resource"] = {"type": kind, "message": self._rest_message(msg)}
        elif kind in (6, 7):
            if handle.source_message_id is None or handle.source_message_id not in self.messages:
                raise DiscordError(400, 10008, "Unknown Message")
            handle.callbacks.append({"type": kind, "data": data})
            handle.original_id = handle.source_message_id
            if kind == 7:
                msg = await self._apply_edit(self.messages[handle.source_message_id], data, call.files)
                info.update(
                    response_message_id=msg["id"],
                    response_message_loading=False,
                    response_message_ephemeral=bool(msg["flags"] & FLAG_EPHEMERAL),
                )
                result["resource"] = {"type": 7, "message": self._rest_message(msg)}
        else:
            handle.callbacks.append({"type": kind, "data": data})
        self._notify()
        return 200, result

    async def _followup(self, handle: InteractionHandle, call: Call) -> dict[str, Any]:
        if not handle.acknowledged:
            raise DiscordError(404, 10015, "Unknown Webhook")
        body = dict(call.json or {})
        original = handle.original
        if original is not None and original["flags"] & FLAG_LOADING and handle.callback_types[0] == 5:
            # After a deferred reply the first followup fills in the "thinking" message (its
            # ephemerality was fixed by the defer).
            self._validate_message_body(body, call.files)
            original["flags"] &= ~FLAG_LOADING
            await self._apply_edit(original, body, call.files, mark_edited=False)
            handle.followup_ids.append(int(original["id"]))
            self._notify()
            return original
        self._validate_message_body(body, call.files)
        flags = int(body.get("flags") or 0) & (FLAG_EPHEMERAL | SETTABLE_FLAGS)
        msg = self._interaction_message(handle, body, call.files, flags=flags)
        handle.followup_ids.append(int(msg["id"]))
        await self._publish(msg)
        return msg
