"""The slash commands: players' scene commands, and the admins' ``/world`` and ``/scene`` groups.

Commands that may wait for a running turn (the engine's scene lock) or for the model ``defer()`` first,
since Discord wants an answer within 3 seconds. Admin commands check Manage Server in code and refuse
with an ephemeral sentence (``default_permissions`` only hides them, and server admins can change that).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.cards import import_card
from bot.discord_adapter.errors import NotAdmin
from bot.discord_adapter.language import cmd, language_here
from bot.discord_adapter.render import split_message
from bot.discord_adapter.swipes import describe
from bot.discord_adapter.webhooks import NO_MENTIONS
from bot.engine.export import to_jsonl
from bot.engine.limits import describe_limits
from bot.engine.lines import Narration, Notice, SceneKey, TurnOutcome
from bot.engine.maps import render_scene_map
from bot.errors import NotFound, Refused
from bot.i18n import join, mood, retell, sentences, tr
from bot.store.records import SceneRow

if TYPE_CHECKING:
    from bot.content.models import World
    from bot.discord_adapter.client import EnsembleBot

MAX_CHOICES = 25


# -- helpers -------------------------------------------------------------------------------------


def bot_of(interaction: discord.Interaction) -> EnsembleBot:
    return interaction.client  # type: ignore[return-value]


def key_of(interaction: discord.Interaction) -> SceneKey:
    if interaction.guild_id is None or interaction.channel_id is None:
        raise app_commands.NoPrivateMessage()
    return SceneKey(str(interaction.guild_id), str(interaction.channel_id))


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _matches(query: str, labels: Sequence[str]) -> bool:
    wanted = _fold(query)
    return not wanted or any(wanted in _fold(label) for label in labels)


async def defer(interaction: discord.Interaction, *, ephemeral: bool) -> None:
    """Acknowledge now (the answer follows); remembers whether the answer will be visible to all."""
    interaction.extras["ephemeral"] = ephemeral
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def respond(
    interaction: discord.Interaction,
    text: str,
    *,
    ephemeral: bool,
    file: discord.File | None = None,
) -> None:
    """Answer an interaction (split if long), whether it was deferred or not, never pinging anyone.

    After a public defer, an ephemeral answer replaces the public "thinking..." message: the first
    followup would otherwise fill it in for everyone to see.
    """
    chunks = split_message(text) or ["…"]
    extra: dict[str, Any] = {"file": file} if file is not None else {}
    if not interaction.response.is_done():
        await interaction.response.send_message(chunks[0], ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra)
    else:
        if ephemeral and not interaction.extras.get("ephemeral", True) and not interaction.extras.get("answered"):
            await interaction.delete_original_response()
        await interaction.followup.send(chunks[0], ephemeral=ephemeral, allowed_mentions=NO_MENTIONS, **extra)
    interaction.extras["answered"] = True
    for chunk in chunks[1:]:
        await interaction.followup.send(chunk, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)


async def answer_outcome(interaction: discord.Interaction, outcome: TurnOutcome) -> None:
    """Narration for everyone; notices only to the person who ran the command."""
    public = "\n\n".join(o.text for o in outcome.outputs if isinstance(o, Narration))
    private = "\n".join(o.text for o in outcome.outputs if isinstance(o, Notice))
    if public:
        await respond(interaction, public, ephemeral=False)
    if private or not public:
        await respond(interaction, private or tr(await language_here(interaction), "discord.done"), ephemeral=True)


async def scene_here(interaction: discord.Interaction) -> tuple[EnsembleBot, SceneKey, SceneRow]:
    """The enabled scene of the channel the command was run in, or a refusal that says how to enable it."""
    bot = bot_of(interaction)
    key = key_of(interaction)
    scene = await bot.scene_for(key, interaction.channel)
    if scene is None or not scene.enabled:
        raise Refused(tr(await language_here(interaction), "discord.not_enabled"))
    return bot, key, scene


async def world_here(interaction: discord.Interaction) -> World | None:
    """The world of this channel's scene, else the server's world (for autocomplete)."""
    bot = bot_of(interaction)
    if interaction.guild_id is None:
        return None
    scene = await bot.app.store.get_scene(str(interaction.guild_id), str(interaction.channel_id))
    world_id = scene.world_id if scene else await bot.app.store.server_world(str(interaction.guild_id))
    return bot.app.library.worlds.get(world_id) if world_id else None


def is_admin(interaction: discord.Interaction) -> bool:
    perms = interaction.permissions
    return bool(perms.manage_guild or perms.administrator)


def admin_only() -> Any:
    """A check that refuses (ephemerally, through the tree's error handler) without Manage Server."""

    def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if not is_admin(interaction):
            raise NotAdmin()
        return True

    return app_commands.check(predicate)


def find_world(bot: EnsembleBot, text: str, language: str) -> World:
    library = bot.app.library
    if text in library.worlds:
        return library.worlds[text]
    wanted = _fold(text)
    for world in library.worlds.values():
        if _fold(world.name) == wanted:
            return world
    known = join(language, [tr(language, "world.entry", name=w.name, id=w.id) for w in library.worlds.values()])
    raise NotFound(tr(language, "world.not_found", name=text, worlds=known or tr(language, "world.none")))


CARD_SIZE_LIMIT = 20 * 1024 * 1024


# -- autocomplete --------------------------------------------------------------------------------


async def character_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    world = await world_here(interaction)
    if world is None:
        return []
    cast = bot_of(interaction).app.library.cast_of(world.id, str(interaction.guild_id))
    return [
        app_commands.Choice(name=c.name[:100], value=c.id)
        for c in cast
        if _matches(current, [c.name, *c.aliases, c.id])
    ][:MAX_CHOICES]


async def place_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    world = await world_here(interaction)
    if world is None:
        return []
    return [
        app_commands.Choice(name=loc.name[:100], value=loc.id)
        for loc in world.locations
        if _matches(current, [loc.name, *loc.aliases, loc.id])
    ][:MAX_CHOICES]


async def world_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    worlds = bot_of(interaction).app.library.worlds.values()
    return [
        app_commands.Choice(name=f"{w.name} ({w.id})"[:100], value=w.id)
        for w in worlds
        if _matches(current, [w.name, w.id])
    ][:MAX_CHOICES]


# -- /world reset confirmation -------------------------------------------------------------------


class ResetConfirm(discord.ui.View):
    """Confirm / Cancel under the ephemeral question, in the server's language; only the admin who asked
    can answer."""

    def __init__(self, requester_id: int, language: str) -> None:
        super().__init__(timeout=120)
        self.requester_id = requester_id
        self.language = language
        self.confirm.label = tr(language, "reset.button")
        self.cancel.label = tr(language, "reset.cancel_button")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.requester_id and is_admin(interaction):
            return True
        await interaction.response.send_message(tr(self.language, "reset.not_yours"), ephemeral=True)
        return False

    @discord.ui.button(label="Reset the story", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        text = await reset_server(bot_of(interaction), str(interaction.guild_id), self.language)
        await interaction.response.edit_message(content=text, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content=tr(self.language, "reset.cancelled"), view=None)


async def reset_server(bot: EnsembleBot, guild_id: str, language: str) -> str:
    """The engine forgets the server's story (``bot.engine.servers``); the adapter forgets its posts."""
    reset = await bot.app.engine.reset_server(guild_id)
    await bot.posts.forget_guild_posts(int(guild_id))
    return reset.sentence(language)


# -- the commands --------------------------------------------------------------------------------


def build_commands() -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    """Fresh command objects for one bot's tree."""

    @app_commands.command(name=cmd("cmd.summon"), description=cmd("cmd.summon.desc"))
    @app_commands.describe(character=cmd("cmd.summon.character"), location=cmd("cmd.summon.location"))
    @app_commands.autocomplete(character=character_choices, location=place_choices)
    @app_commands.guild_only()
    async def summon(interaction: discord.Interaction, character: str, location: str | None = None) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=False)
        await answer_outcome(interaction, await bot.app.engine.summon(key, character, location))

    @app_commands.command(name=cmd("cmd.dismiss"), description=cmd("cmd.dismiss.desc"))
    @app_commands.describe(character=cmd("cmd.dismiss.character"))
    @app_commands.autocomplete(character=character_choices)
    @app_commands.guild_only()
    async def dismiss(interaction: discord.Interaction, character: str) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=False)
        await answer_outcome(interaction, await bot.app.engine.dismiss(key, character))

    @app_commands.command(name=cmd("cmd.cast"), description=cmd("cmd.cast.desc"))
    @app_commands.guild_only()
    async def cast(interaction: discord.Interaction) -> None:
        bot, key, scene = await scene_here(interaction)
        lang = bot.app.library.worlds[scene.world_id].language
        entries = await bot.app.engine.cast(key)
        if not entries:
            await respond(interaction, tr(lang, "cast.empty"), ephemeral=True)
            return
        lines = []
        for entry in entries:
            where = tr(lang, "cast.present" if entry.present else "cast.away", place=entry.location_name)
            feelings = tr(lang, "cast.feelings", feelings=entry.feelings) if entry.feelings else ""
            said = tr(lang, "cast.entry", name=f"**{entry.name}**", where=where, mood=mood(lang, entry.mood_label), intensity=entry.mood_intensity, feelings=feelings)
            lines.append(f"- {said}")
        await respond(interaction, "\n".join(lines), ephemeral=True)

    @app_commands.command(name=cmd("cmd.look"), description=cmd("cmd.look.desc"))
    @app_commands.guild_only()
    async def look(interaction: discord.Interaction) -> None:
        bot, key, _ = await scene_here(interaction)
        await answer_outcome(interaction, await bot.app.engine.look(key))

    @app_commands.command(name=cmd("cmd.go"), description=cmd("cmd.go.desc"))
    @app_commands.describe(place=cmd("cmd.go.place"))
    @app_commands.autocomplete(place=place_choices)
    @app_commands.guild_only()
    async def go(interaction: discord.Interaction, place: str) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=False)
        outcome = await bot.app.engine.go(key, place, interaction.user.display_name, str(interaction.user.id))
        await answer_outcome(interaction, outcome)

    @app_commands.command(name=cmd("cmd.regenerate"), description=cmd("cmd.regenerate.desc"))
    @app_commands.guild_only()
    async def regenerate(interaction: discord.Interaction) -> None:
        bot, key, scene = await scene_here(interaction)
        await defer(interaction, ephemeral=True)
        outcome = await bot.app.engine.regenerate(key)
        if not outcome.utterances:
            await answer_outcome(interaction, outcome)
            return
        utterance = outcome.utterances[0]
        message = await bot.app.store.message(scene.id, utterance.message_id)
        lang = bot.app.library.worlds[scene.world_id].language
        problem = tr(lang, "discord.never_posted")
        if message is not None and message.platform_message_id:
            problem = await bot.outbox.show_alternative(
                interaction.channel, int(message.platform_message_id), utterance, language=lang
            )
        await respond(interaction, problem or tr(lang, "discord.on_screen", what=describe(utterance, lang)), ephemeral=True)

    @app_commands.command(name=cmd("cmd.ooc"), description=cmd("cmd.ooc.desc"))
    @app_commands.describe(text=cmd("cmd.ooc.text"))
    @app_commands.guild_only()
    async def ooc(interaction: discord.Interaction, text: str) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=True)
        user = interaction.user
        await answer_outcome(interaction, await bot.app.engine.ooc(key, str(user.id), user.display_name, text))

    @app_commands.command(name=cmd("cmd.pause"), description=cmd("cmd.pause.desc"))
    @app_commands.guild_only()
    async def pause(interaction: discord.Interaction) -> None:
        bot, key, _ = await scene_here(interaction)
        await bot.app.engine.set_paused(key, True)
        await respond(interaction, tr(await language_here(interaction), "discord.paused"), ephemeral=False)

    @app_commands.command(name=cmd("cmd.resume"), description=cmd("cmd.resume.desc"))
    @app_commands.guild_only()
    async def resume(interaction: discord.Interaction) -> None:
        bot, key, _ = await scene_here(interaction)
        await bot.app.engine.set_paused(key, False)
        await respond(interaction, tr(await language_here(interaction), "discord.resumed"), ephemeral=False)

    @app_commands.command(name=cmd("cmd.privacy"), description=cmd("cmd.privacy.desc"))
    @app_commands.describe(share=cmd("cmd.privacy.share"))
    @app_commands.guild_only()
    async def privacy(interaction: discord.Interaction, share: bool | None = None) -> None:
        from bot.store import preferences

        bot, guild, user = bot_of(interaction), str(interaction.guild_id), str(interaction.user.id)
        if share is not None:
            await preferences.set_opt_out(bot.app.store, guild, user, not share)
        out = user in await preferences.opted_out(bot.app.store, guild)
        text = tr(await language_here(interaction), "discord.privacy.out" if out else "discord.privacy.in")
        await respond(interaction, text, ephemeral=True)

    @app_commands.command(name=cmd("cmd.pacing"), description=cmd("cmd.pacing.desc"))
    @app_commands.describe(pin=cmd("cmd.pacing.pin"))
    @app_commands.choices(pin=[app_commands.Choice(name=cmd(f"pacing.{n}"), value=n) for n in ("slow", "steady", "fast", "auto")])
    @app_commands.guild_only()
    @admin_only()
    async def pacing(interaction: discord.Interaction, pin: str | None = None) -> None:
        bot, key, _ = await scene_here(interaction)
        engine = bot.app.engine
        await respond(interaction, await engine.pin_pacing(key, pin) if pin else await engine.pacing(key), ephemeral=True)

    @app_commands.command(name=cmd("cmd.why"), description=cmd("cmd.why.desc"))
    @app_commands.guild_only()
    @admin_only()
    async def why(interaction: discord.Interaction) -> None:
        bot, key, _ = await scene_here(interaction)
        await respond(interaction, await bot.app.engine.why(key), ephemeral=True)

    @app_commands.command(name=cmd("cmd.memory"), description=cmd("cmd.memory.desc"))
    @app_commands.describe(character=cmd("cmd.memory.character"))
    @app_commands.autocomplete(character=character_choices)
    @app_commands.guild_only()
    @admin_only()
    async def memory(interaction: discord.Interaction, character: str) -> None:
        bot, key, _ = await scene_here(interaction)
        await respond(interaction, await bot.app.engine.memory(key, character), ephemeral=True)

    @app_commands.command(name=cmd("cmd.rewind"), description=cmd("cmd.rewind.desc"))
    @app_commands.describe(turns=cmd("cmd.rewind.turns"))
    @app_commands.guild_only()
    @admin_only()
    async def rewind(interaction: discord.Interaction, turns: app_commands.Range[int, 1, 50]) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=False)
        removed = await bot.app.engine.rewind(key, turns)
        await respond(interaction, tr(await language_here(interaction), "discord.rewound", n=removed), ephemeral=False)

    @app_commands.command(name=cmd("cmd.tick"), description=cmd("cmd.tick.desc"))
    @app_commands.guild_only()
    @admin_only()
    async def tick(interaction: discord.Interaction) -> None:
        bot, key, scene = await scene_here(interaction)
        await defer(interaction, ephemeral=True)
        report = await bot.director.tick(key.guild_id, scene.world_id)
        names = {c.id: c.name for c in bot.app.library.cast_of(scene.world_id, key.guild_id)}
        lang = bot.app.library.worlds[scene.world_id].language
        await respond(interaction, report.meanwhile(names, lang) or tr(lang, "meanwhile.nothing"), ephemeral=True)

    @app_commands.command(name=cmd("cmd.export"), description=cmd("cmd.export.desc"))
    @app_commands.guild_only()
    async def export(interaction: discord.Interaction) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=True)
        records = await bot.app.engine.export(key)
        data = to_jsonl(records).encode("utf-8")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        name = getattr(interaction.channel, "name", None) or key.channel_id
        file = discord.File(io.BytesIO(data), filename=f"ensemble-{name}-{stamp}.jsonl")
        await respond(interaction, tr(await language_here(interaction), "discord.exported", n=len(records)), ephemeral=True, file=file)

    @app_commands.command(name=cmd("cmd.map"), description=cmd("cmd.map.desc"))
    @app_commands.guild_only()
    async def map_(interaction: discord.Interaction) -> None:
        bot, key, scene = await scene_here(interaction)
        await defer(interaction, ephemeral=False)
        world_of = bot.app.library.worlds[scene.world_id]
        png = await render_scene_map(bot.app.engine, key)
        file = discord.File(io.BytesIO(png), filename=f"map-{world_of.id}.png")
        await respond(interaction, tr(world_of.language, "discord.map", world=world_of.name), ephemeral=False, file=file)

    @app_commands.command(name=cmd("cmd.limits"), description=cmd("cmd.limits.desc"))
    @app_commands.describe(
        lines_per_minute=cmd("cmd.limits.lines_per_minute"), tokens_per_day=cmd("cmd.limits.tokens_per_day")
    )
    @app_commands.guild_only()
    @admin_only()
    async def limits(
        interaction: discord.Interaction,
        lines_per_minute: app_commands.Range[int, 0, 1000] | None = None,
        tokens_per_day: app_commands.Range[int, 0, 1_000_000_000] | None = None,
    ) -> None:
        engine = bot_of(interaction).app.engine
        guild_id = str(interaction.guild_id)
        lang = await language_here(interaction)
        if lines_per_minute is None and tokens_per_day is None:
            settings = await engine.limits.for_guild(guild_id)
            changed = ""
        else:
            settings = await engine.limits.set_for_guild(
                guild_id, lines_per_minute=lines_per_minute, tokens_per_day=tokens_per_day
            )
            changed = tr(lang, "limits.changed")
        used = await engine.limits.used_today(guild_id)
        await respond(interaction, sentences(lang, changed, describe_limits(settings, used, lang)), ephemeral=True)

    world = app_commands.Group(
        name=cmd("cmd.world"),
        description=cmd("cmd.world.desc"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @world.command(name=cmd("cmd.world.setup"), description=cmd("cmd.world.setup.desc"))
    @app_commands.describe(world=cmd("cmd.world.setup.world"))
    @app_commands.autocomplete(world=world_choices)
    @admin_only()
    async def world_setup(interaction: discord.Interaction, world: str) -> None:
        bot = bot_of(interaction)
        chosen = find_world(bot, world, await language_here(interaction))
        await bot.app.engine.setup_server(str(interaction.guild_id), chosen.id)
        await respond(interaction, tr(chosen.language, "world.set_up", world=chosen.name), ephemeral=True)

    @world.command(name=cmd("cmd.world.info"), description=cmd("cmd.world.info.desc"))
    @admin_only()
    async def world_info(interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        guild_id = str(interaction.guild_id)
        world_id = await bot.app.store.server_world(guild_id)
        if world_id is None or world_id not in bot.app.library.worlds:
            raise Refused(tr(await language_here(interaction), "discord.no_world"))
        chosen = bot.app.library.worlds[world_id]
        lang = chosen.language
        cast = join(lang, [c.name for c in bot.app.library.cast_of(world_id, guild_id)]) or tr(lang, "world.nobody")
        places = join(lang, [loc.name for loc in chosen.locations])
        scenes = await bot.app.store.list_scenes(guild_id)
        channels = join(lang, [
            tr(lang, "world.paused_channel", channel=f"<#{s.channel_id}>") if s.paused else f"<#{s.channel_id}>"
            for s in scenes if s.enabled
        ])
        text = tr(
            lang, "world.info", name=chosen.name, id=chosen.id, description=chosen.description, cast=cast, places=places,
            channels=channels or tr(lang, "world.no_channels"),
        )
        await respond(interaction, text, ephemeral=True)

    @world.command(name=cmd("cmd.world.reset"), description=cmd("cmd.world.reset.desc"))
    @admin_only()
    async def world_reset(interaction: discord.Interaction) -> None:
        lang = await language_here(interaction)
        await interaction.response.send_message(
            tr(lang, "reset.confirm"), view=ResetConfirm(interaction.user.id, lang), ephemeral=True
        )

    character_group = app_commands.Group(
        name=cmd("cmd.character"),
        description=cmd("cmd.character.desc"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @character_group.command(name=cmd("cmd.character.import"), description=cmd("cmd.character.import.desc"))
    @app_commands.describe(file=cmd("cmd.character.import.file"), rename=cmd("cmd.character.import.rename"))
    @admin_only()
    async def character_import(interaction: discord.Interaction, file: discord.Attachment, rename: bool = False) -> None:
        bot = bot_of(interaction)
        guild_id = str(interaction.guild_id)
        world_id = await bot.app.store.server_world(guild_id)
        if world_id is None or world_id not in bot.app.library.worlds:
            raise Refused(tr(await language_here(interaction), "discord.no_world"))
        world_of = bot.app.library.worlds[world_id]
        if file.size > CARD_SIZE_LIMIT:
            raise Refused(tr(world_of.language, "import.too_large", file=file.filename, size=file.size // 1024))
        await defer(interaction, ephemeral=True)
        imported = import_card(await file.read(), file.filename)
        character = await bot.app.engine.add_character(guild_id, world_id, imported.character, rename=rename)
        notes = "".join(f"\n- {retell(world_of.language, 'card.warn.', w)}" for w in imported.warnings[:5])
        said = tr(world_of.language, "discord.imported", name=character.name, world=world_of.name)
        await respond(interaction, f"{said}{notes}", ephemeral=True)

    scene_group = app_commands.Group(
        name=cmd("cmd.scene"),
        description=cmd("cmd.scene.desc"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    @scene_group.command(name=cmd("cmd.scene.channel"), description=cmd("cmd.scene.channel.desc"))
    @app_commands.describe(enabled=cmd("cmd.scene.channel.enabled"), channel=cmd("cmd.scene.channel.channel"))
    @admin_only()
    async def scene_channel(
        interaction: discord.Interaction, enabled: bool, channel: discord.TextChannel | None = None
    ) -> None:
        bot = bot_of(interaction)
        guild_id = str(interaction.guild_id)
        target_id = str(channel.id if channel is not None else interaction.channel_id)
        key = SceneKey(guild_id, target_id)
        store = bot.app.store
        if enabled:
            world_id = await store.server_world(guild_id)
            if world_id is None or world_id not in bot.app.library.worlds:
                raise Refused(tr(await language_here(interaction), "discord.no_world"))
            scene = await bot.app.engine.open_scene(key, world_id)
            await store.update_scene(scene.id, enabled=True)
            world_of = bot.app.library.worlds[scene.world_id]
            text = tr(world_of.language, "scene.on", channel=f"<#{target_id}>", world=world_of.name)
        else:
            scene = await store.get_scene(guild_id, target_id)
            if scene is not None:
                await store.update_scene(scene.id, enabled=False)
            world_of = bot.app.library.worlds.get(scene.world_id) if scene is not None else None
            lang = world_of.language if world_of is not None else await language_here(interaction)
            text = tr(lang, "scene.off", channel=f"<#{target_id}>")
        await respond(interaction, text, ephemeral=True)

    from bot.discord_adapter.players import build_player_commands

    return [
        summon, dismiss, cast, look, go, map_, regenerate, ooc, pause, resume, privacy, pacing, why, memory, rewind, tick, export, limits, world,
        character_group, scene_group, *build_player_commands(),
    ]
