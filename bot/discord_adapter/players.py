"""Slash commands of the players' stream: ``/persona`` (set, show, clear; repost for admins), ``/nudge``,
``/hush``, ``/unhush``, ``/mode`` and ``/impersonate``. Replies are ephemeral: they concern the person who
asked (a nudged character's line itself reaches the channel through the outbox like any story line).
Names and descriptions come from the catalog, so zh-CN clients see them in Chinese."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.discord_adapter.commands import admin_only, bot_of, character_choices, defer, respond, scene_here
from bot.discord_adapter.language import cmd, language_here
from bot.engine.scheduler import ANSWER_MODES
from bot.i18n import tr


def build_player_commands() -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    persona = app_commands.Group(name=cmd("cmd.persona"), description=cmd("cmd.persona.desc"), guild_only=True)

    @persona.command(name=cmd("cmd.persona.set"), description=cmd("cmd.persona.set.desc"))
    @app_commands.describe(
        name=cmd("cmd.persona.name"), description=cmd("cmd.persona.description"), avatar=cmd("cmd.persona.avatar")
    )
    async def persona_set(
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 64],
        description: app_commands.Range[str, 1, 1500],
        avatar: str | None = None,
    ) -> None:
        personas = bot_of(interaction).app.engine.personas
        said = await personas.set(
            str(interaction.guild_id), str(interaction.user.id), name, description, avatar, await language_here(interaction)
        )
        await respond(interaction, said, ephemeral=True)

    @persona.command(name=cmd("cmd.persona.show"), description=cmd("cmd.persona.show.desc"))
    async def persona_show(interaction: discord.Interaction) -> None:
        personas = bot_of(interaction).app.engine.personas
        said = await personas.show(str(interaction.guild_id), str(interaction.user.id), await language_here(interaction))
        await respond(interaction, said, ephemeral=True)

    @persona.command(name=cmd("cmd.persona.clear"), description=cmd("cmd.persona.clear.desc"))
    async def persona_clear(interaction: discord.Interaction) -> None:
        personas = bot_of(interaction).app.engine.personas
        said = await personas.clear(str(interaction.guild_id), str(interaction.user.id), await language_here(interaction))
        await respond(interaction, said, ephemeral=True)

    @persona.command(name=cmd("cmd.persona.repost"), description=cmd("cmd.persona.repost.desc"))
    @app_commands.describe(enabled=cmd("cmd.persona.repost.enabled"))
    @admin_only()
    async def persona_repost(interaction: discord.Interaction, enabled: bool) -> None:
        personas = bot_of(interaction).app.engine.personas
        await personas.store.set_repost(str(interaction.guild_id), enabled)
        lang = await language_here(interaction)
        said = tr(lang, "persona.repost_on" if enabled else "persona.repost_off")
        channel = interaction.channel
        me = interaction.guild.me if interaction.guild is not None else None
        if enabled and channel is not None and me is not None and not channel.permissions_for(me).manage_messages:  # type: ignore[union-attr]
            said += "\n" + tr(lang, "persona.repost_no_permission")
        await respond(interaction, said, ephemeral=True)

    @app_commands.command(name=cmd("cmd.nudge"), description=cmd("cmd.nudge.desc"))
    @app_commands.describe(character=cmd("cmd.nudge.character"))
    @app_commands.autocomplete(character=character_choices)
    @app_commands.guild_only()
    async def nudge(interaction: discord.Interaction, character: str) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=True)
        outcome = await bot.app.engine.table.nudge(key, character)
        notices = "\n".join(n.text for n in outcome.notices)
        await respond(interaction, notices or tr(await language_here(interaction), "discord.done"), ephemeral=True)

    async def _hush(interaction: discord.Interaction, character: str, hushed: bool) -> None:
        bot, key, _ = await scene_here(interaction)
        await respond(interaction, await bot.app.engine.table.hush(key, character, hushed), ephemeral=True)

    @app_commands.command(name=cmd("cmd.hush"), description=cmd("cmd.hush.desc"))
    @app_commands.describe(character=cmd("cmd.hush.character"))
    @app_commands.autocomplete(character=character_choices)
    @app_commands.guild_only()
    async def hush(interaction: discord.Interaction, character: str) -> None:
        await _hush(interaction, character, True)

    @app_commands.command(name=cmd("cmd.unhush"), description=cmd("cmd.unhush.desc"))
    @app_commands.describe(character=cmd("cmd.unhush.character"))
    @app_commands.autocomplete(character=character_choices)
    @app_commands.guild_only()
    async def unhush(interaction: discord.Interaction, character: str) -> None:
        await _hush(interaction, character, False)

    @app_commands.command(name=cmd("cmd.mode"), description=cmd("cmd.mode.desc"))
    @app_commands.describe(mode=cmd("cmd.mode.mode"))
    @app_commands.choices(mode=[app_commands.Choice(name=cmd(f"table.mode.{m}"), value=m) for m in ANSWER_MODES])
    @app_commands.guild_only()
    async def mode(interaction: discord.Interaction, mode: str | None = None) -> None:
        bot, key, _ = await scene_here(interaction)
        table = bot.app.engine.table
        await respond(interaction, await table.set_mode(key, mode) if mode else await table.mode(key), ephemeral=True)

    @app_commands.command(name=cmd("cmd.impersonate"), description=cmd("cmd.impersonate.desc"))
    @app_commands.guild_only()
    async def impersonate(interaction: discord.Interaction) -> None:
        bot, key, _ = await scene_here(interaction)
        await defer(interaction, ephemeral=True)
        user = interaction.user
        said = await bot.app.engine.table.impersonate(key, str(user.id), user.display_name)
        await respond(interaction, said, ephemeral=True)

    return [persona, nudge, hush, unhush, mode, impersonate]
