"""Pure text shaping for Discord: message splitting, webhook names, fallback lines, swipe labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

MESSAGE_LIMIT = 2000
USERNAME_LIMIT = 80
DEFAULT_NAME = "Narrator"
ELLIPSIS = " […]"

# A sentence ends at . ! ? … followed by whitespace (closing quotes, brackets and markdown stay with it), or at
# a CJK full stop / exclamation / question mark, which need no space after them.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]*_~]*(?=\s)|[。！？]+[\"'”’」』）)\]*_~]*")
_PARAGRAPH = re.compile(r"\n\s*\n")
_LINE = re.compile(r"\n")
_SPACE = re.compile(r"\s")
# Discord refuses webhook names containing these words (case-insensitive).
_REFUSED_WORDS = re.compile(r"(c)(lyde)|(d)(iscord)", re.IGNORECASE)
HAIR_SPACE = "\u200a"


def _cut(pattern: re.Pattern[str], text: str, limit: int, floor: int) -> int | None:
    """The latest cut of this kind that keeps the head within ``limit`` and at least ``floor`` long.

    A sentence is cut after its punctuation; paragraph, line and space boundaries at the gap.
    """
    best: int | None = None
    for match in pattern.finditer(text):
        position = match.end() if pattern is _SENTENCE_END else match.start()
        if position > limit:
            break
        if position >= floor and position < len(text):
            best = position
    return best


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters at the latest paragraph break, else
    sentence end, else line break, else space; a hard cut only for text with none of those.

    Boundaries in the second half of the window are preferred so that chunks stay well filled;
    whitespace at a cut is dropped, nothing else is.
    """
    text = text.strip()
    chunks: list[str] = []
    while len(text) > limit:
        cut = None
        for floor in (limit // 2, 1):
            for pattern in (_PARAGRAPH, _SENTENCE_END, _LINE, _SPACE):
                cut = _cut(pattern, text, limit, floor)
                if cut is not None:
                    break
            if cut is not None:
                break
        head, text = text[: cut or limit].rstrip(), text[cut or limit :].lstrip()
        chunks.append(head)
    if text:
        chunks.append(text)
    return chunks


def fit_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` in one message: the first chunk of :func:`split_message`, marked when something was cut."""
    chunks = split_message(text, limit - len(ELLIPSIS))
    if not chunks:
        return ""
    if len(chunks) == 1 and len(text.strip()) <= limit:
        return text.strip()
    return chunks[0] + ELLIPSIS


def webhook_username(name: str | None) -> str:
    """A name Discord accepts for a webhook message: 1-80 characters, without "discord" or "clyde".

    The refused words get an invisible hair space after their first letter (as PluralKit does), so the
    name still reads the same; an empty name becomes "Narrator".
    """
    cleaned = " ".join((name or "").split())
    if not cleaned:
        cleaned = DEFAULT_NAME
    cleaned = _REFUSED_WORDS.sub(_break_word, cleaned)
    if len(cleaned) > USERNAME_LIMIT:
        cleaned = cleaned[: USERNAME_LIMIT - 1].rstrip() + "…"
        cleaned = _REFUSED_WORDS.sub(_break_word, cleaned)[:USERNAME_LIMIT]
    return cleaned


def _break_word(match: re.Match[str]) -> str:
    first, rest = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return f"{first}{HAIR_SPACE}{rest}"


_MARKDOWN = re.compile(r"([\\*_~`|>])")


def escape_markdown(text: str) -> str:
    """Text shown literally inside Discord markdown (for names in bold)."""
    return _MARKDOWN.sub(r"\\\1", text)


def fallback_line(name: str, text: str) -> str:
    """A character's line posted by the bot itself when webhooks cannot be used: the name in bold."""
    return f"**{escape_markdown(' '.join(name.split()) or DEFAULT_NAME)}**: {text.strip()}"


def swipe_label(index: int, count: int) -> str:
    """The counter on a message's buttons, e.g. ``2/3`` (1-based)."""
    return f"{index + 1}/{max(count, 1)}"


@dataclass(frozen=True, slots=True)
class EditPlan:
    """How to show new text on a line already posted as several messages (the last carries the buttons)."""

    edits: tuple[tuple[int, str], ...]
    deletes: tuple[int, ...]


def plan_edit(message_ids: list[int], text: str, limit: int = MESSAGE_LIMIT) -> EditPlan:
    """Spread ``text`` over the messages of an earlier post, keeping the last (button) message.

    Fewer chunks than messages: the surplus earlier messages are deleted. More chunks than messages:
    the rest goes into the last message, cut at a sentence and marked (the full text stays in the
    transcript).
    """
    if not message_ids:
        return EditPlan((), ())
    chunks = split_message(text, limit) or [ELLIPSIS.strip()]
    slots = len(message_ids)
    if len(chunks) > slots:
        rest = " ".join(chunks[slots - 1 :])
        chunks = chunks[: slots - 1] + [fit_message(rest, limit)]
    head = chunks[:-1]
    edits = [(message_ids[i], chunk) for i, chunk in enumerate(head)]
    deletes = message_ids[len(head) : slots - 1]
    edits.append((message_ids[-1], chunks[-1]))
    return EditPlan(tuple(edits), tuple(deletes))
