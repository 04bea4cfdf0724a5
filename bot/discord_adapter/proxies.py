"""Which webhook messages are a player's own line re-posted by a proxy bot (PluralKit, Tupperbox) or by us.

Proxy bots delete a player's message and re-post its text through a webhook under another name. Such a
re-post must count as that player's line, once: not ignored as a bot's output, not answered a second
time. The rule (pure, times passed in, so tests need no clock):

- A person's line is noted when it arrives. A webhook message that is not ours **replaces** that line
  when, within ``WINDOW`` seconds, in the same channel, its text is the line's text or a part of it at
  least half as long (proxy tags such as ``[...]`` or ``Name: ...`` are stripped by the proxy bot). The
  newest matching line wins; a line is replaced at most once.
- A replacement is never a new line. It takes over the line's identity: an edit or delete of the
  proxied message acts on the line (``original_of``).
- A deleted line waits ``WINDOW`` seconds before it leaves the story; if it was replaced (before or
  during the wait) it stays, because the proxy deleted it, not the player. A line still waiting in the
  channel's queue when the proxy replaced it enters the story with the copy's text (without the tags).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

WINDOW = 5.0
MAX_RECENT = 200


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(slots=True)
class _Recent:
    channel_id: int
    message_id: int
    author_id: int
    text: str
    at: float
    replaced_by: int | None = None


class ProxyMatcher:
    """Recent person lines per channel, and which proxied messages stand for which line."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._recent: deque[_Recent] = deque(maxlen=MAX_RECENT)
        self._aliases: dict[int, int] = {}  # proxied (or re-posted) message id -> the line's own message id
        self._replaced: set[int] = set()
        self._copies: dict[int, str] = {}  # a replaced line's id -> the proxied copy's text (tags stripped)

    def note_line(self, channel_id: int, message_id: int, author_id: int, text: str, at: float) -> None:
        self._recent.append(_Recent(channel_id, message_id, author_id, _norm(text), at))

    def match(self, channel_id: int, webhook_message_id: int, text: str, at: float) -> int | None:
        """The id of the line a foreign webhook message replaces, or ``None`` (then it is ignored, as before)."""
        wanted = _norm(text)
        if not wanted:
            return None
        for recent in reversed(self._recent):
            if recent.channel_id != channel_id or recent.replaced_by is not None or at - recent.at > self.window:
                continue
            if wanted == recent.text or (wanted in recent.text and 2 * len(wanted) >= len(recent.text)):
                recent.replaced_by = webhook_message_id
                self.alias(webhook_message_id, recent.message_id)
                self._copies[recent.message_id] = text.strip()
                return recent.message_id
        return None

    def alias(self, message_id: int, original_id: int) -> None:
        """``message_id`` stands for the line first posted as ``original_id`` (a proxy's, or our own re-post)."""
        self._aliases[message_id] = original_id
        self._replaced.add(original_id)

    def original_of(self, message_id: int) -> int:
        """The line's own message id for a proxied message; the id itself otherwise."""
        return self._aliases.get(message_id, message_id)

    def copy_text(self, message_id: int) -> str | None:
        """The text of a proxy's copy of this line (its tags stripped), if a proxy replaced it."""
        return self._copies.get(message_id)

    def replaced(self, message_id: int) -> bool:
        """Whether this line's message was replaced by a proxied copy (so its deletion is not the player's)."""
        return message_id in self._replaced
