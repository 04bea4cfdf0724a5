"""The user simulator: a model that plays the user's persona against the system under test.

Its prompt holds the persona, the characters as a player would know them, and a style on two axes:
``active`` (drives the story) or ``passive`` (follows), ``slow`` (slow burn) or ``fast`` (fast plot).
The transcript is shown from the user's side: the user's own lines as ``assistant``, everything the
characters and the narrator said as ``user`` lines with a name label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.ports import ChatMessage, ChatModel, ChatOptions
from bot.errors import ModelUnavailable
from bot.eval.records import Line
from bot.eval.scenarios import Scenario, Style

# How many of the latest story lines the simulator sees (about 30 turns).
HISTORY_LINES = 90
# The first words of the simulator's system prompt; tests and logs recognise its requests by them.
SIMULATOR_MARKER = "You are the user simulator of a role-play evaluation"

ACTIVITY = {
    "active": (
        "You drive the story: take initiative, propose what to do, ask pointed questions, bring in your own "
        "ideas, plans and small surprises, and react with feeling. Usually two to four sentences."
    ),
    "passive": (
        "You mostly follow: short replies (often one sentence, sometimes only an action or a few words), you "
        "go along with what the characters suggest and rarely start a new thread. Leave it to them to carry "
        "the scene."
    ),
}
PACING = {
    "slow": (
        "Slow burn: linger on moments, feelings, small gestures and atmosphere; let trust and tension build "
        "over many turns; do not rush toward the next plot point."
    ),
    "fast": (
        "Fast plot: push events forward, go to new places, raise the stakes, and move on (or skip ahead in "
        "time) once a scene has done its work."
    ),
}


def style_text(style: Style) -> str:
    return f"{ACTIVITY[style.activity]}\n{PACING[style.pacing]}"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def system_prompt(scenario: Scenario) -> str:
    user = scenario.user_name
    zh = scenario.language == "zh"
    people = "\n".join(f"- {c.name}: {_short(c.description, 300)}" for c in scenario.cards or scenario.cast)
    parts = [
        f"{SIMULATOR_MARKER}: you play {user}, a person taking part in an interactive story with the "
        "characters below. You are not an assistant, and you never write for the characters.",
        f"# Who you are\n{user}: {scenario.user_persona.strip()}",
        f"# The story\n{_short(scenario.world.description, 600)}\nThe characters you meet:\n{people}",
        f"# How you play\n{style_text(scenario.style)}",
        (
            f"# How to write\nWrite only {user}'s next message: what {user} says and does, actions between "
            f"*asterisks*. Never write the characters' words, actions or thoughts, and never describe how they "
            "react. No name label at the start, no out-of-character remarks, no summaries, no options to choose "
            "from. Stay in the story even when it gets dull: that is for the characters to fix."
        ),
    ]
    if zh:
        parts.append("Write in Chinese (简体中文), as a native speaker would in a chat.")
    return "\n\n".join(parts)


def simulator_messages(scenario: Scenario, history: Sequence[Line], limit: int = HISTORY_LINES) -> list[ChatMessage]:
    """The simulator's request: system prompt, the story's last ``limit`` lines from the user's side, and a
    last direction (a person remembers the recent story; the full history would make turn 100 cost 100x)."""
    messages = [ChatMessage("system", system_prompt(scenario))]
    for line in history[-limit:] if limit > 0 else history:
        if line.kind == "user":
            messages.append(ChatMessage("assistant", line.text))
        elif line.kind == "narration":
            messages.append(ChatMessage("user", f"[{line.speaker}] {line.text}"))
        else:
            messages.append(ChatMessage("user", f"{line.speaker}: {line.text}"))
    direction = f"Write {scenario.user_name}'s next message now, and only that."
    if not history:
        direction = f"The story begins. Write {scenario.user_name}'s first message, and only that."
    messages.append(ChatMessage("system", direction, name="director"))
    return messages


def clean_user_line(text: str, user_name: str, others: Sequence[str]) -> str:
    """Drop a leading name label and anything written after another speaker's label."""
    text = text.strip()
    label = re.compile(rf"^\s*\**{re.escape(user_name)}\**\s*[:：]\s*", re.IGNORECASE)
    text = label.sub("", text, count=1)
    for name in [*others, "Narrator", "旁白"]:
        cut = re.search(rf"(?m)^\s*\[?\**{re.escape(name)}\**\]?\s*[:：]", text)
        if cut and cut.start() > 0:
            text = text[: cut.start()]
    return text.strip()


class UserSimulator:
    """Writes the user's next line with the simulator model."""

    def __init__(self, model: ChatModel, *, temperature: float = 0.9, max_tokens: int = 300) -> None:
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens

    async def next_line(self, scenario: Scenario, history: Sequence[Line]) -> str:
        """The user's next line; ``ModelUnavailable`` if the model fails or twice writes nothing usable."""
        others = [n for c in scenario.cast for n in c.all_names()]
        options = ChatOptions(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=tuple(f"\n{name}:" for name in scenario.cast_names[:4]),
        )
        messages = simulator_messages(scenario, history)
        for _ in range(2):
            result = await self.model.complete(messages, options)
            line = clean_user_line(result.text, scenario.user_name, others)
            if line:
                return line
        raise ModelUnavailable("The user simulator gave no usable line.", detail="empty simulator line twice")
