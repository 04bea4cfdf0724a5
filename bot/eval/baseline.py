"""The baseline: the same model and scenario the way a typical chat front end runs it.

One system prompt (the world as "world info", the character card or cards, example dialogue, the user's
persona and a short main instruction), then the whole history as alternating ``user``/``assistant``
messages. No narrator, no scheduler, no memory, no guards, no clean-up beyond trimming whitespace.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.content.models import Character
from bot.core.ports import ChatMessage, ChatModel, ChatOptions
from bot.eval.records import Line
from bot.eval.scenarios import Scenario

# The first words of the baseline's system prompt; tests recognise its requests by them.
BASELINE_MARKER = "Write the next reply in a fictional role-play chat"


def speaker_label(scenario: Scenario) -> str:
    """Who the baseline's replies are from: the one character, or the cast together."""
    names = [c.name for c in scenario.cards or scenario.cast]
    return names[0] if len(names) == 1 else " & ".join(names)


def _card(character: Character) -> str:
    lines = [f"## {character.name}", character.description, f"Personality: {character.personality}"]
    if character.scenario:
        lines.append(f"Scenario: {character.scenario}")
    lines.append(f"Speaking style: {character.voice.style}")
    examples = []
    for sample in character.voice.samples:
        examples.append(f"{{{{user}}}}: {sample.user}\n{character.name}: {sample.character}")
    if examples:
        lines.append("Example dialogue:\n" + "\n\n".join(examples))
    return "\n".join(lines)


def system_prompt(scenario: Scenario) -> str:
    cards = list(scenario.cards or scenario.cast)
    names = " and ".join(c.name for c in cards)
    user = scenario.user_name
    world = scenario.world
    parts = [
        f"{BASELINE_MARKER} between {names} and {user}. Write {names}'s next reply only, in character. "
        f"Be creative and proactive, and never write {user}'s words or actions.",
        f"# World\n{world.description}" + ("\n" + "\n".join(f"- {r}" for r in world.rules) if world.rules else ""),
        "# Characters\n" + "\n\n".join(_card(c) for c in cards),
        f"# {user} (the user)\n{scenario.user_persona}",
    ]
    if scenario.language == "zh":
        parts.append("用中文回复。")
    return "\n\n".join(parts).replace("{{user}}", user).replace("{{char}}", cards[0].name)


def baseline_messages(scenario: Scenario, history: Sequence[Line]) -> list[ChatMessage]:
    """System prompt plus the full history: the user's lines as ``user``, the replies as ``assistant``."""
    messages = [ChatMessage("system", system_prompt(scenario))]
    for line in history:
        role = "user" if line.kind == "user" else "assistant"
        if messages[-1].role == role and role == "assistant":
            messages[-1] = ChatMessage(role, messages[-1].content + "\n\n" + line.text)
        else:
            messages.append(ChatMessage(role, line.text))
    return messages


class Baseline:
    """Replies with one plain call per user line."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    async def reply(self, scenario: Scenario, history: Sequence[Line]) -> str:
        settings = scenario.world.settings
        options = ChatOptions(max_tokens=settings.max_reply_tokens, temperature=settings.temperature)
        result = await self.model.complete(baseline_messages(scenario, history), options)
        return result.text.strip()
