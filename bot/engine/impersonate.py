"""``/impersonate``: a suggested next line for a player, in their persona's voice, shown only to them.

The suggestion is never stored as a story line and never enters any character's prompt: it is one
model call (counted under the ``impersonate`` purpose against the server's budget) over what the channel
shows, and its text goes back to the player who asked. If they like it, they send it themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.ports import ChatMessage, ChatOptions
from bot.engine.cleanup import clean_reply
from bot.engine.lines import SceneKey
from bot.errors import ModelUnavailable
from bot.i18n import tr

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine

RECENT = 16
MAX_TOKENS = 200


def impersonation_prompt(world_name: str, world_description: str, name: str, description: str | None,
                         lines: list[tuple[str, str]], language: str) -> list[ChatMessage]:
    """The messages of one suggestion (pure): the player's persona, the recent story, the instruction."""
    who = f"{name}: {description}" if description else name
    system = (
        f"You help a player of a group role-play set in {world_name} write their next line.\n"
        f"# World\n{world_description}\n# The player's character\n{who}\n"
        f"Write only {name}'s next line: their own words and actions, in their voice, one to three sentences, "
        "something the others can answer that moves the scene on. Never write what any other character says or does. "
        "No name label, no commentary, no quotation of these instructions."
        + (" Write in Chinese." if language == "zh" else "")
    )
    story = "\n".join(f"{speaker}: {text}" for speaker, text in lines) or "(the scene has just begun)"
    return [
        ChatMessage("system", system),
        ChatMessage("user", f"The story so far:\n{story}\n\nWrite {name}'s next line."),
    ]


async def suggest_line(engine: SceneEngine, key: SceneKey, author_id: str, author_name: str) -> str:
    """The suggestion as the player sees it (or a short notice when the model cannot answer)."""
    scene = await engine.require_scene(key)
    world = engine.world(scene.world_id)
    persona = await engine.personas.get(scene.guild_id, author_id)
    name = persona.name if persona else author_name
    recent = [(m.speaker, m.text) for m in await engine.store.recent_messages(scene.id, RECENT) if m.kind != "ooc"]
    messages = impersonation_prompt(world.name, world.description, name, persona.description if persona else None, recent, world.language)
    others = [c.name for c in engine.library.cast_of(world.id, scene.guild_id)]
    try:
        result = await engine.model_for(scene.guild_id, "impersonate", scene.id).complete(
            messages, ChatOptions(max_tokens=MAX_TOKENS, temperature=world.settings.temperature)
        )
    except ModelUnavailable:
        return tr(world.language, "turn.model_unavailable")
    text = clean_reply(result.text, [name], others).strip()
    if not text:
        return tr(world.language, "turn.model_unavailable")
    return tr(world.language, "impersonate.suggestion", name=name, text=text)
