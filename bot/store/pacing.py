"""Reads behind pacing: a scene's recent player lines, regenerations and plot hooks; and the pinned pace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.store.store import Store

RECENT = 24


@dataclass(frozen=True, slots=True)
class PacingRows:
    """Raw rows; ``bot.engine.pacing`` turns them into ``bot.world.pacing.Observations``."""

    user_lines: list[tuple[float, str, int]]  # (posix time, text, turn id), oldest first
    npc_lines: list[tuple[int, int, list[str], int]]  # (turn id, active index, alternative texts, message id)
    hooks: list[tuple[int, str]]  # (turn id, hook text), oldest first
    pinned: str | None = None  # the pace an admin pinned (``/pacing``), if any


def _posix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


_NPC_LINES = "SELECT id FROM messages WHERE scene_id = ? AND kind = 'npc' ORDER BY id DESC LIMIT ?"


async def pacing_rows(store: Store, scene_id: int, limit: int = RECENT) -> PacingRows:
    """Everything the pace is inferred from, read at the start of every player turn: five reads in one
    round trip (``fetch_many``); the alternatives of the recent NPC lines by a subquery of the same
    lines, not a second trip with their ids."""
    users, npcs, swipes, hooks, pinned = await store.fetch_many([
        ("SELECT created_at, text, turn_id FROM messages WHERE scene_id = ? AND kind = 'user' ORDER BY id DESC LIMIT ?",
         (scene_id, limit)),
        ("SELECT id, turn_id, active_swipe FROM messages WHERE scene_id = ? AND kind = 'npc' ORDER BY id DESC LIMIT ?",
         (scene_id, limit)),
        (f"SELECT message_id, text FROM swipes WHERE message_id IN ({_NPC_LINES}) ORDER BY message_id, idx",
         (scene_id, limit)),
        ("SELECT turn_id, payload FROM events WHERE scene_id = ? AND kind = 'hook' ORDER BY id DESC LIMIT ?",
         (scene_id, limit)),
        ("SELECT pinned FROM scene_pacing WHERE scene_id = ?", (scene_id,)),
    ])
    texts: dict[int, list[str]] = {int(r[0]): [] for r in npcs}
    for message_id, text in swipes:
        if int(message_id) in texts:  # a line written between the two reads is not one of ``npcs``
            texts[int(message_id)].append(text)
    npc_lines = [(int(t), int(a), texts[int(i)], int(i)) for i, t, a in reversed(npcs)]
    return PacingRows(
        user_lines=[(_posix(r[0]), r[1], int(r[2])) for r in reversed(users)],
        npc_lines=npc_lines,
        hooks=[(int(r[0] or 0), str(json.loads(r[1]).get("text", ""))) for r in reversed(hooks)],
        pinned=pinned[0][0] if pinned else None,
    )


async def pin_pace(store: Store, scene_id: int, label: str | None) -> None:
    """Pin ``label`` for the scene, or (``None``) go back to inferring it."""
    async with store.transaction() as conn:
        if label is None:
            await conn.execute("DELETE FROM scene_pacing WHERE scene_id = ?", (scene_id,))
        else:
            await conn.execute(
                "INSERT INTO scene_pacing (scene_id, pinned, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (scene_id) DO UPDATE SET pinned = excluded.pinned, updated_at = excluded.updated_at",
                (scene_id, label, store.now()),
            )
