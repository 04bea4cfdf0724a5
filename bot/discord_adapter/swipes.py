"""Swipe buttons under every character line: previous, the counter, next, and regenerate.

The buttons are ``DynamicItem``s whose custom_id carries the engine's message id
(``ens:swipe:<action>:<id>``), so they keep working after a restart without any stored view. A click is
deferred at once (a regeneration calls the model), then the line is edited in place through the webhook
that posted it (``interaction.message.edit()`` would use the channel route, which Discord refuses for
webhook messages).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
import structlog

from bot.discord_adapter.errors import user_text
from bot.discord_adapter.render import swipe_label
from bot.engine.lines import SceneKey, Utterance
from bot.i18n import tr

if TYPE_CHECKING:
    from bot.discord_adapter.client import EnsembleBot

log = structlog.get_logger("discord.swipes")

ACTIONS = {"prev": ("◀", -1), "pos": ("", 0), "next": ("▶", 1), "regen": ("↻", 0)}
TEMPLATE = r"ens:swipe:(?P<action>prev|pos|next|regen):(?P<message_id>[0-9]+)"


def custom_id(action: str, message_id: int) -> str:
    return f"ens:swipe:{action}:{message_id}"


class SwipeButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One button of a line's swipe row; rebuilt from its custom_id when clicked."""

    def __init__(self, action: str, message_id: int, *, label: str | None = None, disabled: bool = False) -> None:
        emoji_label, _ = ACTIONS[action]
        style = discord.ButtonStyle.secondary if action != "regen" else discord.ButtonStyle.primary
        super().__init__(
            discord.ui.Button(
                label=label or emoji_label,
                style=style,
                custom_id=custom_id(action, message_id),
                disabled=disabled,
            )
        )
        self.action = action
        self.message_id = message_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SwipeButton:
        return cls(match["action"], int(match["message_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await on_swipe(interaction, self.action, self.message_id)


def swipe_view(message_id: int, index: int, count: int) -> discord.ui.View:
    """The button row for an NPC line showing alternative ``index`` of ``count``."""
    view = discord.ui.View(timeout=None)
    view.add_item(SwipeButton("prev", message_id, disabled=index <= 0))
    view.add_item(SwipeButton("pos", message_id, label=swipe_label(index, count), disabled=True))
    view.add_item(SwipeButton("next", message_id, disabled=index >= count - 1))
    view.add_item(SwipeButton("regen", message_id))
    return view


async def on_swipe(interaction: discord.Interaction, action: str, message_id: int) -> None:
    """Handle a click: browse or regenerate, then edit the line in place; problems are told ephemerally."""
    bot: EnsembleBot = interaction.client  # type: ignore[assignment]
    await interaction.response.defer()
    if action == "pos" or interaction.guild_id is None or interaction.channel is None:
        return
    key = SceneKey(str(interaction.guild_id), str(interaction.channel_id))
    try:
        text = await _swipe(bot, interaction, key, action, message_id)
    except Exception as exc:  # every failure gets a sentence, never a traceback
        text = user_text(exc, action=action, message=message_id)
    if text:
        await interaction.followup.send(text, ephemeral=True)


async def _swipe(
    bot: EnsembleBot, interaction: discord.Interaction, key: SceneKey, action: str, message_id: int
) -> str | None:
    store = bot.app.store
    scene = await store.get_scene(key.guild_id, key.channel_id)
    message = None if scene is None else await store.message(scene.id, message_id)
    world = bot.app.library.worlds.get(scene.world_id) if scene is not None else None
    lang = world.language if world is not None else "en"
    clicked = interaction.message.id if interaction.message is not None else None
    if scene is None or message is None or message.character_id is None:
        return tr(lang, "discord.no_alternatives")
    if clicked is not None and message.platform_message_id not in (None, str(clicked)):
        # The buttons sit on the line's main message; these belong to another line (say one from
        # before a /world reset, whose engine ids were reused).
        return tr(lang, "discord.unchangeable")
    if action == "regen":
        outcome = await bot.app.engine.regenerate(key, message_id)
    else:
        if message.settled:
            return tr(lang, "discord.moved_on")
        outcome = await bot.app.engine.show_swipe(key, message_id, ACTIONS[action][1])
    utterances = outcome.utterances
    if not utterances:
        return " ".join(n.text for n in outcome.notices) or None
    platform_id = message.platform_message_id or clicked
    if platform_id is None:
        return tr(lang, "discord.unchangeable")
    return await bot.outbox.show_alternative(
        interaction.channel, int(platform_id), utterances[0], seen=interaction.message, language=lang
    )


def describe(utterance: Utterance, language: str = "en") -> str:
    return tr(language, "discord.alternative", name=utterance.speaker, label=swipe_label(utterance.swipe_index, utterance.swipe_count))
