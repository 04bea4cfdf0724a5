"""Rendering engine outputs in a channel: character lines through the webhook with swipe buttons,
narration under the narrator's name, notices as short bot messages; and alternatives shown in place."""

from __future__ import annotations

from typing import Any

import discord
import structlog

from bot.discord_adapter.render import split_message
from bot.discord_adapter.swipes import swipe_view
from bot.discord_adapter.webhook_store import PostRecord, WebhookStore
from bot.discord_adapter.webhooks import NO_MENTIONS, Posted, StaleMessage, WebhookManager
from bot.engine.lines import Narration, Utterance
from bot.i18n import tr
from bot.store import Store

log = structlog.get_logger("discord.outbox")


class Outbox:
    """Posts lines (for the engine's outbox poster) and notices, and records which Discord messages each
    line became."""

    def __init__(self, webhooks: WebhookManager, repo: WebhookStore, store: Store) -> None:
        self.webhooks = webhooks
        self.repo = repo
        self.store = store

    async def post_utterance(self, channel: Any, scene_id: int, utterance: Utterance) -> Posted:
        view = swipe_view(utterance.message_id, utterance.swipe_index, utterance.swipe_count)
        posted = await self.webhooks.post(
            channel, name=utterance.speaker, avatar_url=utterance.avatar_url, text=utterance.text, view=view
        )
        await self._record(channel, posted)
        # The engine knows the line by the message with the buttons: replies and swipes find it by that id.
        await self.store.set_platform_message_id(scene_id, utterance.message_id, str(posted.main_id))
        return posted

    async def post_narration(self, channel: Any, narration: Narration) -> Posted:
        posted = await self.webhooks.post(
            channel, name=narration.speaker, avatar_url=narration.avatar_url, text=narration.text
        )
        await self._record(channel, posted)
        return posted

    async def _record(self, channel: Any, posted: Posted) -> None:
        await self.repo.record_post(channel.guild.id, channel.id, posted.parts)

    async def post_notice(self, channel: Any, text: str, *, reply_to: discord.Message | None = None) -> None:
        reference = reply_to.to_reference(fail_if_not_exists=False) if reply_to is not None else None
        for index, chunk in enumerate(split_message(text)):
            await channel.send(
                chunk,
                reference=reference if index == 0 else None,  # discord.py wants None (not MISSING) for no reference
                allowed_mentions=NO_MENTIONS,
            )

    async def show_alternative(
        self, channel: Any, platform_id: int, utterance: Utterance, *, seen: discord.Message | None = None, language: str = "en"
    ) -> str | None:
        """Edit a posted line to show ``utterance`` (another alternative); a sentence if that is impossible.

        ``seen`` is the message a button was clicked on: if its post is not recorded yet (a click in the
        instant between posting and recording) it stands for the whole line.
        """
        guild_id = channel.guild.id
        records = await self.repo.post_of(guild_id, platform_id)
        if not records and seen is not None and seen.id == platform_id:
            records = [PostRecord(seen.id, channel.id, seen.id, 0, seen.webhook_id)]
        if not records:
            return tr(language, "discord.unchangeable")
        view = swipe_view(utterance.message_id, utterance.swipe_index, utterance.swipe_count)
        try:
            deleted = await self.webhooks.edit(channel, records, name=utterance.speaker, text=utterance.text, view=view)
        except StaleMessage as exc:
            log.info("swipe.stale", message=str(platform_id), reason=str(exc))
            return tr(language, "discord.stale")
        if deleted:
            await self.repo.drop_posts(guild_id, deleted)
        return None
