"""The Discord bot: intents, command sync on start, message intake, and the tasks it owns."""

from __future__ import annotations

import asyncio
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
from bot.discord_adapter.swipes import SwipeButton
from bot.discord_adapter.webhook_store import WebhookStore
from bot.discord_adapter.webhooks import WebhookManager
from bot.engine.limits import BUDGET_SPENT_ADMINS, RATE_LIMITED
from bot.engine.lines import InboundLine, Narration, Notice, SceneKey, TurnOutcome, Utterance
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
        if why is not None:
            return
        if self.sharding is not None and message.guild is not None and not self.sharding.owns_guild(message.guild.id):
            return  # a shard whose lease this process has lost: its new holder answers
        key = SceneKey(str(message.guild.id), str(message.channel.id)) if message.guild is not None else None
        # Queued at once, before any await, so lines keep their arrival order. Each queued line is
        # announced to the engine: a running chain of NPC reactions stops while any line waits.
        if self.intake.submit(message.channel.id, message):
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
            text=message.clean_content,
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
