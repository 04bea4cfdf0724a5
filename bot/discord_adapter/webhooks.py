"""Character voices: one webhook per channel, created on demand, reused, persisted, recovered when deleted,
and a fallback to the bot's own messages (name in bold) when webhooks cannot be used.

- Webhooks come from ``channel.webhooks()`` / ``create_webhook()``, so they are bound to the client and
  can carry buttons. Only the id is persisted; after a restart the channel's list gives the token back.
- Unknown webhook (10015): forget it, get a new one, resend once.
- Missing Manage Webhooks (50013, or seen in the cached permissions) and too many webhooks (30007): post
  as the bot with the name in bold, and tell the channel's admins once how to fix it.
- Threads: the parent channel's webhook with ``thread=``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord
import structlog
from discord.utils import MISSING

from bot.discord_adapter.render import fallback_line, plan_edit, split_message, webhook_username
from bot.discord_adapter.webhook_store import PostRecord, WebhookStore

log = structlog.get_logger("discord.webhooks")

WEBHOOK_NAME = "Ensemble"
NO_MENTIONS = discord.AllowedMentions.none()
UNKNOWN_WEBHOOK = 10015
UNKNOWN_MESSAGE = 10008
TOO_MANY_WEBHOOKS = 30007
MISSING_PERMISSIONS = 50013

ADMIN_NOTICES = {
    "missing_permissions": (
        "**Heads-up for server admins:** I can't post as the characters here because I lack the "
        "**Manage Webhooks** permission, so they speak through me with their names in bold. To fix it, give my "
        "role Manage Webhooks (Server Settings → Roles → Ensemble), or allow it in this channel's permissions."
    ),
    "too_many_webhooks": (
        "**Heads-up for server admins:** this channel already has the most webhooks Discord allows (15), so I "
        "can't add the one the characters speak through; they speak through me with their names in bold. To fix "
        "it, delete a webhook you no longer need (Channel Settings → Integrations → Webhooks)."
    ),
}


class WebhookUnavailable(Exception):
    """Webhooks cannot be used in this channel right now; ``kind`` is a key of ``ADMIN_NOTICES``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class StaleMessage(Exception):
    """The message can no longer be edited (its webhook or the message itself is gone)."""


@dataclass(frozen=True, slots=True)
class Posted:
    """The Discord messages one line became, in order, each with the webhook that posted it (None: the bot)."""

    parts: tuple[tuple[int, int | None], ...]

    @property
    def message_ids(self) -> list[int]:
        return [message_id for message_id, _ in self.parts]

    @property
    def main_id(self) -> int:
        return self.parts[-1][0]


def home_of(channel: Any) -> tuple[Any, discord.Thread | None]:
    """The channel that owns the webhook (a thread's parent) and the thread, if any."""
    if isinstance(channel, discord.Thread):
        return channel.parent, channel
    return channel, None


class WebhookManager:
    """Posts and edits character lines through the channel's webhook (or, failing that, as the bot)."""

    def __init__(
        self,
        client: discord.Client,
        repo: WebhookStore,
        *,
        retry_after: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.repo = repo
        self.retry_after = retry_after
        self._clock = clock
        self._cache: dict[int, discord.Webhook] = {}
        self._blocked: dict[int, tuple[str, float]] = {}
        # Told of every line posted as the bot instead (the metrics count them by kind).
        self.on_fallback: Callable[[str], None] | None = None
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def own_ids(self) -> set[int]:
        """Ids of the webhooks this bot speaks through (to recognise their echoes)."""
        return {hook.id for hook in self._cache.values()}

    def unblock(self) -> None:
        """Permissions or channels changed: try webhooks again at the next line."""
        self._blocked.clear()

    # -- getting the channel's webhook -------------------------------------------------------------

    async def _parent(self, channel: Any) -> tuple[Any, discord.Thread | None]:
        parent, thread = home_of(channel)
        if parent is None and thread is not None:
            parent = await self.client.fetch_channel(thread.parent_id)
        return parent, thread

    async def webhook_for(self, parent: Any) -> discord.Webhook:
        """The channel's webhook: cached, else found in the channel's list by the stored id, else created."""
        hook = self._cache.get(parent.id)
        if hook is not None:
            return hook
        blocked = self._blocked.get(parent.id)
        if blocked is not None and self._clock() < blocked[1]:
            raise WebhookUnavailable(blocked[0])
        me = parent.guild.me
        if me is not None and not parent.permissions_for(me).manage_webhooks:
            raise WebhookUnavailable("missing_permissions")
        lock = self._locks.setdefault(parent.id, asyncio.Lock())
        async with lock:
            hook = self._cache.get(parent.id)
            if hook is not None:
                return hook
            try:
                hook = await self._find_or_create(parent)
            except discord.Forbidden as exc:
                self._block(parent.id, "missing_permissions")
                raise WebhookUnavailable("missing_permissions") from exc
            except discord.HTTPException as exc:
                if exc.code == TOO_MANY_WEBHOOKS:
                    self._block(parent.id, "too_many_webhooks")
                    raise WebhookUnavailable("too_many_webhooks") from exc
                raise
            self._cache[parent.id] = hook
            self._blocked.pop(parent.id, None)
            return hook

    def _block(self, channel_id: int, kind: str) -> None:
        self._blocked[channel_id] = (kind, self._clock() + self.retry_after)

    async def _find_or_create(self, parent: Any) -> discord.Webhook:
        guild_id = parent.guild.id
        stored = await self.repo.webhook_id(guild_id, parent.id)
        hooks = await parent.webhooks()
        found = self._pick(hooks, stored)
        if found is not None:
            if found.id != stored:
                await self.repo.save_webhook(guild_id, parent.id, found.id)
            log.info("webhook.reused", guild=str(guild_id), channel=str(parent.id), webhook=str(found.id))
            return found
        created = await parent.create_webhook(name=WEBHOOK_NAME, reason="Ensemble: the characters' voices")
        await self.repo.save_webhook(guild_id, parent.id, created.id)
        await self.repo.clear_notices(guild_id, parent.id)
        log.info("webhook.created", guild=str(guild_id), channel=str(parent.id), webhook=str(created.id))
        return created

    def _pick(self, hooks: Sequence[discord.Webhook], stored: int | None) -> discord.Webhook | None:
        usable = [h for h in hooks if h.token and h.type is discord.WebhookType.incoming]
        for hook in usable:
            if hook.id == stored:
                return hook
        me = self.client.user
        for hook in usable:
            # One this bot made earlier (say the database was lost): reuse it rather than add another.
            if hook.name == WEBHOOK_NAME and me is not None and hook.user is not None and hook.user.id == me.id:
                return hook
        return None

    async def _forget(self, parent: Any, hook: discord.Webhook) -> None:
        if self._cache.get(parent.id) is hook:
            del self._cache[parent.id]
        await self.repo.forget_webhook(parent.guild.id, parent.id)

    # -- posting ---------------------------------------------------------------------------------

    async def post(
        self,
        channel: Any,
        *,
        name: str,
        avatar_url: str | None,
        text: str,
        view: discord.ui.View | None = None,
    ) -> Posted:
        """Post a character's line (split if long; ``view`` on the last message) and return what was posted."""
        parent, thread = await self._parent(channel)
        chunks = split_message(text) or ["…"]
        parts: list[tuple[int, int | None]] = []
        try:
            hook = await self.webhook_for(parent)
            recreated = False
            while len(parts) < len(chunks):
                last = len(parts) == len(chunks) - 1
                try:
                    message = await hook.send(
                        content=chunks[len(parts)],
                        username=webhook_username(name),
                        avatar_url=avatar_url or MISSING,
                        view=view if (last and view is not None) else MISSING,
                        thread=thread if thread is not None else MISSING,
                        allowed_mentions=NO_MENTIONS,
                        wait=True,
                    )
                except discord.NotFound as exc:
                    if exc.code != UNKNOWN_WEBHOOK or recreated:
                        raise
                    # Deleted behind our back: a new webhook, and this message once more.
                    log.warning("webhook.unknown", channel=str(parent.id), webhook=str(hook.id))
                    recreated = True
                    await self._forget(parent, hook)
                    hook = await self.webhook_for(parent)
                    continue
                except discord.Forbidden as exc:
                    self._cache.pop(parent.id, None)
                    self._block(parent.id, "missing_permissions")
                    raise WebhookUnavailable("missing_permissions") from exc
                parts.append((message.id, hook.id))
        except WebhookUnavailable as exc:
            if self.on_fallback is not None:
                self.on_fallback(exc.kind)
            await self.tell_admins_once(channel, exc.kind)
            rest = "\n".join(chunks[len(parts) :])
            for message_id in await self._post_as_bot(channel, name, rest, view):
                parts.append((message_id, None))
        return Posted(tuple(parts))

    async def _post_as_bot(self, channel: Any, name: str, text: str, view: discord.ui.View | None) -> list[int]:
        chunks = split_message(fallback_line(name, text))
        ids = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            message = await channel.send(
                chunk, view=view if (last and view is not None) else MISSING, allowed_mentions=NO_MENTIONS
            )
            ids.append(message.id)
        return ids

    async def tell_admins_once(self, channel: Any, kind: str) -> None:
        """Explain a webhook problem in the channel, once per channel and kind (remembered across restarts)."""
        parent, _ = home_of(channel)
        channel_id = parent.id if parent is not None else channel.id
        if not await self.repo.first_notice(channel.guild.id, channel_id, kind):
            return
        log.warning("webhook.fallback", guild=str(channel.guild.id), channel=str(channel_id), kind=kind)
        try:
            await channel.send(ADMIN_NOTICES[kind], allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("webhook.notice_failed", channel=str(channel_id), exc_info=True)

    # -- editing ---------------------------------------------------------------------------------

    async def edit(
        self,
        channel: Any,
        records: Sequence[PostRecord],
        *,
        name: str,
        text: str,
        view: discord.ui.View | None,
    ) -> list[int]:
        """Show ``text`` on an earlier post in place (buttons on the last message); return deleted ids.

        Raises ``StaleMessage`` when the post can no longer be edited.
        """
        if not records:
            raise StaleMessage("nothing recorded for that message")
        parent, thread = await self._parent(channel)
        by_id = {r.platform_message_id: r for r in records}
        shown = text if records[-1].webhook_id is not None else fallback_line(name, text)
        plan = plan_edit([r.platform_message_id for r in records], shown)
        main_id = records[-1].platform_message_id
        try:
            for message_id, content in plan.edits:
                record = by_id[message_id]
                with_view = view if message_id == main_id and view is not None else MISSING
                if record.webhook_id is None:
                    await channel.get_partial_message(message_id).edit(
                        content=content, view=with_view, allowed_mentions=NO_MENTIONS
                    )
                else:
                    hook = await self._hook_of(parent, record)
                    await hook.edit_message(
                        message_id,
                        content=content,
                        view=with_view,
                        thread=thread if thread is not None else MISSING,
                        allowed_mentions=NO_MENTIONS,
                    )
            for message_id in plan.deletes:
                record = by_id[message_id]
                if record.webhook_id is None:
                    await channel.get_partial_message(message_id).delete()
                else:
                    hook = await self._hook_of(parent, record)
                    await hook.delete_message(message_id, thread=thread if thread is not None else MISSING)
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_WEBHOOK:
                hook = self._cache.get(parent.id)
                if hook is not None:
                    await self._forget(parent, hook)
            raise StaleMessage(str(exc)) from exc
        except WebhookUnavailable as exc:
            raise StaleMessage(exc.kind) from exc
        return list(plan.deletes)

    async def _hook_of(self, parent: Any, record: PostRecord) -> discord.Webhook:
        hook = await self.webhook_for(parent)
        if hook.id != record.webhook_id:
            raise StaleMessage("the webhook that posted this message is gone")
        return hook
