"""The Discord bot: intents, command sync on start, message intake, and the tasks it owns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.app import App
from bot.discord_adapter.commands import build_commands, respond
from bot.discord_adapter.errors import user_text
from bot.discord_adapter.intake import ChannelQueues, MessageFacts, reason_to_ignore, typing_in
from bot.discord_adapter.language import CatalogTranslator, language_here
from bot.discord_adapter.outbox import Outbox
from bot.discord_adapter.proxies import WINDOW, ProxyMatcher
from bot.discord_adapter.swipes import SwipeButton
from bot.discord_adapter.webhook_store import WebhookStore
from bot.discord_adapter.webhooks import WebhookManager
from bot.engine.limits import BUDGET_SPENT_ADMINS, RATE_LIMITED
from bot.engine.lines import InboundLine, Narration, Notice, SceneKey, TurnOutcome, Utterance
from bot.errors import EnsembleError
from bot.i18n import tr
from bot.shards.runtime import ShardRuntime
from bot.store.outbox import OutboxLine
from bot.store.records import SceneRow
from bot.world.director import Director, director_random

log = structlog.get_logger("discord")

# On a line that is stored but not answered (the player writes too fast): quiet, no ping, no message.
SLOW_DOWN_REACTION = "\N{HOURGLASS WITH FLOWING SAND}"


def bot_intents() -> discord.Intents:
    """Default intents plus Message Content (privileged: enable it in the Developer Portal)."""
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


def silence_voice_warnings() -> None:
    """The bot has no voice: discord.py's start-up warnings about missing PyNaCl and davey are noise.

    ``warn_nacl``/``warn_dave`` are the flags discord.py itself clears after warning once.
    """
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


class EnsembleBot(commands.Bot):
    """Ensemble on Discord: converts messages, commands and clicks into engine calls and renders the results."""

    def __init__(
        self, app: App, *, dev_guild_id: int | None = None, sharding: ShardRuntime | None = None, **options: Any
    ) -> None:
        silence_voice_warnings()
        options.setdefault("command_prefix", commands.when_mentioned)
        options.setdefault("intents", bot_intents())
        options.setdefault("help_command", None)
        # Model output never pings anyone, whatever it contains.
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        super().__init__(**options)
        self.app = app
        self.dev_guild_id = dev_guild_id
        self.posts = WebhookStore(app.store)
        self.webhooks = WebhookManager(self, self.posts)
        self.outbox = Outbox(self.webhooks, self.posts, app.store)
        # Story lines reach the channel through the engine's outbox: committed with the turn, posted here
        # in order with retries (also those left from before a restart), never while a lock is held.
        self.poster = app.engine.attach_poster(self._deliver_line)
        # Sharded: this process handles only the servers of the shards whose lease it holds.
        # (Not ``self.shards``: that is AutoShardedClient's map of shard id to ShardInfo.)
        self.sharding = sharding
        self._max_concurrency: int | None = None
        if sharding is not None:
            self.poster.owns_guild = sharding.owns_guild
        self.intake: ChannelQueues[int, discord.Message] = ChannelQueues(self._take_turn)
        self.synced: list[app_commands.AppCommand] = []
        self.close_grace = 5.0
        settings = app.settings
        self.director = Director(
            app.engine,
            clock=app.engine.clock,
            rng=director_random(settings.random_seed),
            interval=settings.director_interval,
            idle_after=settings.director_idle_after,
            on_meanwhile=self._post_meanwhile if settings.meanwhile else None,
            owns_guild=sharding.owns_guild if sharding is not None else None,
        )
        self._director_task: asyncio.Task[None] | None = None
        # -- players' lines: proxies, re-posts under personas, edits and deletes (bot/discord_adapter/proxies.py) --
        self.proxies = ProxyMatcher()
        self.proxy_clock: Callable[[], float] = time.monotonic
        self.proxy_grace = WINDOW  # how long a deleted line waits for a proxied copy before it leaves the story
        self._queued: set[int] = set()  # lines submitted to a channel queue and not yet taken
        self._queued_edits: dict[int, str] = {}
        self._deleted_queued: dict[int, float] = {}  # queued lines deleted before their turn, and when
        self._self_deleted: set[int] = set()  # originals the bot deleted after re-posting them under a persona
        self._repost_told: set[int] = set()
        self._line_tasks: set[asyncio.Task[None]] = set()
        metrics = app.engine.metrics
        self.webhooks.on_fallback = lambda kind: metrics.webhook_fallbacks.labels(kind).inc()
        metrics.queue_depth.source = lambda: {str(channel): n for channel, n in self.intake.depths().items()}

    # -- start and stop --------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        for command in build_commands():
            self.tree.add_command(command)
        self.tree.error(self._on_command_error)
        await self.tree.set_translator(CatalogTranslator())
        # Swipe buttons of lines posted before a restart keep working: they are matched by custom_id.
        self.add_dynamic_items(SwipeButton)
        await self.sync_commands()
        resumed = await self.poster.resume()
        if resumed:
            log.info("outbox.resumed", channels=resumed)
        # Off-screen life: owned by the bot, cancelled on close.
        self._director_task = asyncio.create_task(self.director.run(), name="director")

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Sharded: wait for the shard's IDENTIFY slot in the shared database, so that all processes
        together stay within Discord's ``max_concurrency`` IDENTIFYs per 5 s; else discord.py's pause."""
        if self.sharding is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        if self._max_concurrency is None:
            try:
                _, _, limits = await self.http.get_bot_gateway()
                self._max_concurrency = max(int(limits.get("max_concurrency", 1)), 1)
            except (discord.HTTPException, discord.GatewayNotFound, KeyError, TypeError, ValueError):
                self._max_concurrency = 1  # the safe assumption: one at a time
        waited = await self.sharding.identify.wait_turn(shard_id or 0, self._max_concurrency)
        log.info("discord.identify", shard=shard_id, waited=round(waited, 2), max_concurrency=self._max_concurrency)

    async def sync_commands(self) -> None:
        """Register the slash commands: to the dev guild (instant) if set, else globally."""
        if self.dev_guild_id:
            guild = discord.Object(id=self.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            self.synced = await self.tree.sync(guild=guild)
        else:
            self.synced = await self.tree.sync()
        log.info(
            "discord.commands_synced",
            scope=str(self.dev_guild_id) if self.dev_guild_id else "global",
            commands=[c.name for c in self.synced],
        )

    async def close(self) -> None:
        # Running turns get a few seconds to finish: inside Docker's 10 s stop timeout.
        await self.intake.close(grace=self.close_grace)
        for task in list(self._line_tasks):
            task.cancel()
        await asyncio.gather(*self._line_tasks, return_exceptions=True)
        await self.poster.aclose()
        if self._director_task is not None:
            self._director_task.cancel()
            await asyncio.gather(self._director_task, return_exceptions=True)
        await self.app.engine.aclose()
        await super().close()

    async def _deliver_line(self, line: OutboxLine, output: Utterance | Narration) -> None:
        """Post one outbox line in its channel (the webhook, else the bot); raise to have it retried."""
        channel = self.get_channel(int(line.channel_id))
        if channel is None:
            channel = await self.fetch_channel(int(line.channel_id))
        if isinstance(output, Utterance):
            await self.outbox.post_utterance(channel, line.scene_id, output)
        else:
            await self.outbox.post_narration(channel, output)

    async def _post_meanwhile(self, guild_id: str, world_id: str, text: str) -> None:
        """A short "Meanwhile..." line in the server's most recently active scene of that world."""
        scene = await self.app.store.latest_active_scene(guild_id, world_id)
        channel = self.get_channel(int(scene.channel_id)) if scene else None
        if channel is None:
            return
        try:
            await channel.send(f"*{text}*", allowed_mentions=discord.AllowedMentions.none())  # type: ignore[union-attr]
        except discord.HTTPException:
            log.warning("director.meanwhile_failed", guild=guild_id, exc_info=True)

    async def on_ready(self) -> None:
        self.app.engine.metrics.gateway_ready.set(1)
        log.info("discord.ready", user=str(self.user), guilds=len(self.guilds))

    async def on_disconnect(self) -> None:
        self.app.engine.metrics.gateway_ready.set(0)

    async def on_resumed(self) -> None:
        self.app.engine.metrics.gateway_ready.set(1)

    # -- events that may make webhooks usable again -----------------------------------------------

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self.webhooks.unblock()

    async def on_guild_channel_update(self, before: Any, after: Any) -> None:
        self.webhooks.unblock()

    # -- message intake --------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        why = reason_to_ignore(
            MessageFacts.of(message),
            bot_user_id=self.user.id if self.user else None,
            own_webhook_ids=self.webhooks.own_ids,
        )
        if why == "webhook" and message.guild is not None:
            # A proxy bot's re-post of a player's line stands for that line; it is never a new one.
            original = self.proxies.match(message.channel.id, message.id, message.content, self.proxy_clock())
            if original is not None:
                log.info("intake.proxied", message=str(message.id), original=str(original))
            return
        if why is not None:
            return
        if self.sharding is not None and message.guild is not None and not self.sharding.owns_guild(message.guild.id):
            return  # a shard whose lease this process has lost: its new holder answers
        key = SceneKey(str(message.guild.id), str(message.channel.id)) if message.guild is not None else None
        self.proxies.note_line(message.channel.id, message.id, message.author.id, message.content, self.proxy_clock())
        # Queued at once, before any await, so lines keep their arrival order. Each queued line is
        # announced to the engine: a running chain of NPC reactions stops while any line waits.
        if self.intake.submit(message.channel.id, message):
            self._queued.add(message.id)
            if key is not None:
                self.app.engine.interrupt(key)
        else:
            log.warning("intake.queue_full", channel=str(message.channel.id))
            try:
                await self.outbox.post_notice(message.channel, tr(await self._language_of(message), "discord.busy"), reply_to=message)
            except discord.HTTPException:
                pass

    async def _language_of(self, message: discord.Message) -> str:
        """The language of the world a message's channel plays in (English when there is none)."""
        if message.guild is None:
            return "en"
        scene = await self.app.store.get_scene(str(message.guild.id), str(message.channel.id))
        world = self.app.library.worlds.get(scene.world_id) if scene else None
        return world.language if world else "en"

    async def scene_for(self, key: SceneKey, channel: Any) -> SceneRow | None:
        """The channel's scene; a thread of a role-play channel gets its own scene on first use."""
        store = self.app.store
        scene = await store.get_scene(key.guild_id, key.channel_id)
        if scene is None and isinstance(channel, discord.Thread) and channel.parent_id is not None:
            parent = await store.get_scene(key.guild_id, str(channel.parent_id))
            if parent is not None and parent.enabled:
                scene = await self.app.engine.open_scene(key, parent.world_id)
        return scene

    async def _take_turn(self, message: discord.Message) -> None:
        """One line, one turn: runs inside the channel's queue worker, so turns never overlap."""
        assert message.guild is not None
        channel = message.channel
        key = SceneKey(str(message.guild.id), str(channel.id))
        self._queued.discard(message.id)
        deleted_at = self._deleted_queued.pop(message.id, None)
        if deleted_at is not None and not self.proxies.replaced(message.id):
            # Deleted while it waited: by the player (it never enters the story) or by a proxy bot whose
            # copy may still be on its way; wait out the grace before deciding.
            await asyncio.sleep(max(0.0, deleted_at + self.proxy_grace - self.proxy_clock()))
        if deleted_at is not None and not self.proxies.replaced(message.id):
            self.app.engine.withdraw_interrupt(key)
            return
        # Edited while it waited, or replaced by a proxy's copy (its text has no proxy tags).
        text = self._queued_edits.pop(message.id, None) or self.proxies.copy_text(message.id) or message.clean_content
        try:
            scene = await self.scene_for(key, channel)
        except BaseException:
            self.app.engine.withdraw_interrupt(key)
            raise
        if scene is None or not scene.enabled:
            self.app.engine.withdraw_interrupt(key)  # announced on arrival, but no turn will take it
            return
        reply_to = None
        if message.reference is not None and message.reference.message_id is not None:
            # A reply to any part of a split line addresses the line (known by its main message).
            main = await self.posts.main_message_id(message.guild.id, message.reference.message_id)
            reply_to = str(main or message.reference.message_id)
        line = InboundLine(
            scene=key,
            author_id=str(message.author.id),
            author_name=message.author.display_name,
            text=text,
            platform_message_id=str(message.id),
            reply_to=reply_to,
        )
        bound = log.bind(guild=key.guild_id, channel=key.channel_id, message=str(message.id))

        async def post(outcome: TurnOutcome) -> None:
            # The story lines of each committed turn go through the outbox (the poster posts them as soon
            # as they are committed); what is left to say here are the notices to the person, some of them
            # quietly (a reaction, a direct message to the owner).
            outcome = await self._quiet_notices(message, outcome)
            for notice in outcome.notices:
                await self.outbox.post_notice(channel, notice.text, reply_to=message)

        try:
            await self._repost(message, text)
            if scene.paused:
                await self.app.engine.handle(line, on_outcome=post)
            else:
                async with typing_in(channel):
                    await self.app.engine.handle(line, on_outcome=post)
        except Exception as exc:  # a sentence in the channel, the traceback in the log
            world = self.app.library.worlds.get(scene.world_id)
            text = user_text(exc, world.language if world else "en", guild=key.guild_id, channel=key.channel_id)
            bound.warning("intake.turn_failed", shown=text)
            try:
                await self.outbox.post_notice(channel, text, reply_to=message)
            except discord.HTTPException:
                bound.warning("intake.notice_failed", exc_info=True)

    # -- players' lines: re-posts under personas, edits, deletes --------------------------------------

    async def _repost(self, message: discord.Message, text: str) -> None:
        """With the server's re-post option on, a player with a persona has their line re-posted under the
        persona's name and avatar through the channel webhook, and the original deleted (Manage Messages).
        Without that permission the original stays and the channel is told once why."""
        assert message.guild is not None
        personas = self.app.engine.personas
        guild_id = str(message.guild.id)
        if not await personas.store.repost(guild_id):
            return
        persona = await personas.get(guild_id, str(message.author.id))
        if persona is None:
            return
        me = message.guild.me
        allowed = me is not None and message.channel.permissions_for(me).manage_messages  # type: ignore[union-attr]
        if not allowed:
            if message.channel.id not in self._repost_told:
                self._repost_told.add(message.channel.id)
                notice = tr(await self._language_of(message), "persona.repost_no_permission")
                await self.outbox.post_notice(message.channel, notice)
            return
        posted = await self.webhooks.post(message.channel, name=persona.name, avatar_url=persona.avatar_url, text=text)
        for message_id in posted.message_ids:
            self.proxies.alias(message_id, message.id)
        self._self_deleted.add(message.id)
        try:
            await message.delete()
        except discord.HTTPException:
            self._self_deleted.discard(message.id)
            log.warning("persona.repost_delete_failed", message=str(message.id), exc_info=True)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A player edited a line: used if no character has answered it yet (see ``bot.engine.own_lines``)."""
        data = payload.data
        author = data.get("author") or {}
        if payload.guild_id is None or "content" not in data:
            return
        original = self.proxies.original_of(payload.message_id)
        if original == payload.message_id and (data.get("webhook_id") is not None or author.get("bot")):
            return  # the bot's own edits (swipes) and other bots' messages are not players' lines
        text = payload.message.clean_content if getattr(payload, "message", None) is not None else str(data["content"])
        if original in self._queued:
            self._queued_edits[original] = text
            return
        key = SceneKey(str(payload.guild_id), str(payload.channel_id))
        try:
            notice = await self.app.engine.own_lines.edit(key, text, platform_message_id=str(original))
        except EnsembleError:
            return  # no scene here
        if notice is not None and notice.code == "edit_after_answer":
            channel = self.get_channel(payload.channel_id)
            if channel is not None:  # a reply to the edited line, so the player sees which one
                await self.outbox.post_notice(channel, notice.text, reply_to=channel.get_partial_message(payload.message_id))  # type: ignore[union-attr,arg-type]

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A player deleted a line: it leaves the story and the characters' memories, unless a proxy bot
        replaced it with its own copy (waited for ``proxy_grace`` seconds)."""
        message_id = payload.message_id
        if payload.guild_id is None or message_id in self._self_deleted:
            self._self_deleted.discard(message_id)
            return
        if message_id in self._queued:
            self._deleted_queued[message_id] = self.proxy_clock()
            return
        key = SceneKey(str(payload.guild_id), str(payload.channel_id))
        task = asyncio.create_task(self._forget_line(key, message_id), name=f"forget-{message_id}")
        self._line_tasks.add(task)
        task.add_done_callback(self._line_tasks.discard)

    async def _forget_line(self, key: SceneKey, message_id: int) -> None:
        original = self.proxies.original_of(message_id)
        if original == message_id:
            await asyncio.sleep(self.proxy_grace)
            if self.proxies.replaced(message_id):
                return  # a proxy bot deleted it to re-post it: the line stays
        try:
            await self.app.engine.own_lines.delete(key, platform_message_id=str(original))
        except EnsembleError:
            return
        except Exception:
            log.exception("intake.delete_failed", message=str(message_id))

    async def _quiet_notices(self, message: discord.Message, outcome: TurnOutcome) -> TurnOutcome:
        """Notices not meant for the whole channel: a reaction for a player writing too fast, a direct
        message to the server's owner when the budget is spent. The rest is posted as usual."""
        kept = []
        for output in outcome.outputs:
            if isinstance(output, Notice) and output.code == RATE_LIMITED:
                try:
                    await message.add_reaction(SLOW_DOWN_REACTION)
                except discord.HTTPException:
                    log.info("intake.reaction_failed", message=str(message.id))
            elif isinstance(output, Notice) and output.code == BUDGET_SPENT_ADMINS:
                await self._tell_owner(message.guild, output.text)
            else:
                kept.append(output)
        return outcome if len(kept) == len(outcome.outputs) else TurnOutcome(tuple(kept), outcome.turn_id, outcome.turn_seq, outcome.duplicate)

    async def _tell_owner(self, guild: discord.Guild | None, text: str) -> None:
        """A direct message to the server's owner (admins' notice); the log has it if DMs are closed."""
        if guild is None:
            return
        try:
            owner = guild.owner or await self.fetch_user(guild.owner_id) if guild.owner_id else None
            if owner is not None:
                await owner.send(text, allowed_mentions=discord.AllowedMentions.none())
                return
        except discord.HTTPException:
            pass
        log.warning("limits.owner_not_told", guild=str(guild.id), text=text)

    # -- slash command errors --------------------------------------------------------------------

    async def _on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        command = interaction.command.qualified_name if interaction.command else None
        try:
            language = await language_here(interaction)
        except Exception:  # the error reply must not fail on the way to its language
            language = "en"
        text = user_text(error, language, command=command, guild=str(interaction.guild_id))
        try:
            await respond(interaction, text, ephemeral=True)
        except discord.HTTPException:
            log.warning("discord.error_reply_failed", command=command, exc_info=True)


class ShardedEnsembleBot(EnsembleBot, commands.AutoShardedBot):
    """Ensemble over several gateway shards in one process (``SHARD_COUNT``/``SHARD_IDS``): discord.py's
    ``AutoShardedClient`` with the given ``shard_ids`` and ``shard_count``, everything else as ``EnsembleBot``."""
