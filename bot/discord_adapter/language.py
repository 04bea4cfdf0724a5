"""Which language a Discord answer is written in, and slash-command names and descriptions per client locale.

Answers follow the world of the channel (a Chinese world answers in Chinese whoever asks), falling back to
the server's world; a server without a world yet (before ``/world setup``) is answered in its preferred
locale when the catalog has it, else in the asker's, else in English. Command names and descriptions cannot depend on
the world (Discord stores one set per application), so they use Discord's own localizations: each
``locale_str`` carries a catalog key, and ``CatalogTranslator`` fills ``name_localizations`` and
``description_localizations`` from the catalog at sync time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.i18n import CATALOG, LANGUAGES, for_discord_locale, tr

if TYPE_CHECKING:
    from bot.discord_adapter.client import EnsembleBot


def cmd(key: str) -> app_commands.locale_str:
    """A command name or description: the English text, with its catalog key for the translator."""
    return app_commands.locale_str(tr("en", key), key=key)


class CatalogTranslator(app_commands.Translator):
    """Slash-command strings from the message catalog, for every Discord locale a catalog language claims."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        code = for_discord_locale(locale.value)
        if key is None or code == CATALOG.reference.code:
            return None  # Discord shows the default (English) text
        lang = CATALOG.language(code)
        return str(lang.messages[key]) if key in lang.messages else None


def localized_locales() -> list[str]:
    """The Discord locales that get localized command names (for tests and docs)."""
    return [loc for lang in LANGUAGES if lang.code != CATALOG.reference.code for loc in lang.discord_locales]


def locale_language(interaction: discord.Interaction) -> str:
    """The language of an interaction with no world to go by: the server's preferred locale (Discord sends
    it for interactions in a server) if a catalog language claims it, else the asker's locale, else English."""
    known = {loc for lang in LANGUAGES for loc in lang.discord_locales}
    for locale in (interaction.guild_locale, interaction.locale):
        if locale is not None and str(locale) in known:
            return for_discord_locale(str(locale))
    return CATALOG.reference.code


async def language_here(interaction: discord.Interaction) -> str:
    """The language to answer in: the channel's world, else the server's, else ``locale_language``."""
    bot: EnsembleBot = interaction.client  # type: ignore[assignment]
    fallback = locale_language(interaction)
    if interaction.guild_id is None:
        return fallback
    store, worlds = bot.app.store, bot.app.library.worlds
    scene = await store.get_scene(str(interaction.guild_id), str(interaction.channel_id))
    world_id = scene.world_id if scene else await store.server_world(str(interaction.guild_id))
    world = worlds.get(world_id) if world_id else None
    return world.language if world is not None else fallback
