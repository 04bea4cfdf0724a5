"""Preference records from swipes, in the DPO format TRL trains on (pure: rows in, records out).

Players press Regenerate at the story's pivots and keep the alternative they like: the strongest
preference signal there is. For each settled NPC line with more than one alternative, the one on screen
when the story moved on is ``chosen`` and every other one ``rejected``; ``prompt`` is the list of
messages the model saw for the chosen alternative (conversational format: ``{"role", "content"}``; a
speaker's ``name`` is kept when there was one). One record per line by default (``rejected`` a list),
or with ``pairs=True`` one record per (chosen, rejected) pair, which is what ``trl.DPOTrainer`` reads
as is. A line whose scene includes a player who opted out yields nothing, nor one whose chosen
alternative has no stored prompt (written before prompts were kept).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Alternative:
    """One swipe of an NPC line: its text, whether it was on screen when the story moved on, its prompt."""

    idx: int
    text: str
    kept: bool
    prompt: list[dict[str, Any]] | None
    created_at: str


@dataclass(frozen=True, slots=True)
class SwipedLine:
    """A settled NPC line that players saw more than one alternative of."""

    message_id: int
    guild_id: str
    scene_id: int
    channel_id: str
    world_id: str
    character_id: str
    speaker: str
    created_at: str
    alternatives: tuple[Alternative, ...]
    players: frozenset[str]  # author ids of the human lines in the scene up to this line



class _Message(Protocol):
    role: str
    content: str
    name: str | None


# Each message's JSON, kept: consecutive prompts of a scene share their static part and nearly all their
# history, and encoding the whole list again was a fiftieth of a reply's event-loop CPU. Bounded: past
# ``KEPT_MESSAGES`` it starts again from empty.
KEPT_MESSAGES = 16384
_encoded: dict[tuple[str, str, str | None], str] = {}


def prompt_json(messages: Sequence[_Message]) -> str:
    """The messages of a model request as JSON, in the conversational format preference data uses.

    The same text as ``json.dumps`` of the list (``ensure_ascii=False``): a list is its items' JSON joined
    by ``", "`` in brackets, and each item's JSON is encoded once.
    """
    parts = []
    for m in messages:
        key = (m.role, m.content, m.name)
        part = _encoded.get(key)
        if part is None:
            if len(_encoded) >= KEPT_MESSAGES:
                _encoded.clear()
            part = _encoded[key] = json.dumps(
                {"role": m.role, "content": m.content, **({"name": m.name} if m.name else {})}, ensure_ascii=False
            )
        parts.append(part)
    return "[" + ", ".join(parts) + "]"


@dataclass
class ExportTally:
    """What the export wrote and what it left out, and why."""

    lines: int = 0
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def preference_records(
    lines: Iterable[SwipedLine], opted_out: frozenset[str] = frozenset(), *, pairs: bool = False, tally: ExportTally | None = None
) -> list[dict[str, Any]]:
    """The export's records for ``lines`` (already one server's), leaving out opted-out players' scenes."""
    tally = tally if tally is not None else ExportTally()
    out: list[dict[str, Any]] = []
    for line in lines:
        tally.lines += 1
        if len(line.alternatives) < 2:
            tally.skip("one alternative")
            continue
        if line.players & opted_out:
            tally.skip("a player opted out")
            continue
        chosen = [a for a in line.alternatives if a.kept]
        if len(chosen) != 1:
            tally.skip("no alternative kept")
            continue
        kept = chosen[0]
        if kept.prompt is None:
            tally.skip("no stored prompt")
            continue
        rejected = [a for a in line.alternatives if not a.kept and a.text.strip() and a.text != kept.text]
        if not rejected:
            tally.skip("alternatives identical")
            continue
        base = {
            "prompt": kept.prompt,
            "chosen": _assistant(kept.text),
            "character": line.character_id,
            "speaker": line.speaker,
            "world": line.world_id,
            "scene": line.channel_id,
            "message_id": line.message_id,
            "time": kept.created_at,
            "alternatives": len(line.alternatives),
        }
        if pairs:
            for alt in rejected:
                out.append({**base, "rejected": _assistant(alt.text), "rejected_index": alt.idx})
        else:
            out.append({**base, "rejected": [_assistant(a.text) for a in rejected]})
    tally.records += len(out)
    return out
