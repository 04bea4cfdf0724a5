"""Players editing and deleting their own lines: the rows behind ``bot.engine.own_lines``.

A line is *answered* once a character's line was committed in its turn. Deleting goes through the
message row: its facts, its hearers' rows and its search and vector rows (the memory index's cascade and
triggers) go with it; summaries and the notes drawn with them that may retell it are dropped, so they
are rewritten from the lines that remain. An edit re-indexes the line's text and drops its vector, so
the embedder redoes it from the new text.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.store.database import Database
from bot.store.records import FactRecord, MessageRow
from bot.store.store import Store
from bot.store.turns import MESSAGE_COLUMNS, message_row


async def last_line_of(store: Store, scene_id: int, author_id: str) -> MessageRow | None:
    """The player's latest line in the scene."""
    row = await store.fetch_one(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE scene_id = ? AND kind = 'user' AND author_id = ? ORDER BY id DESC LIMIT 1",
        (scene_id, author_id),
    )
    return message_row(row) if row else None


async def answered(store: Store, message: MessageRow) -> bool:
    """Whether a character already answered this line (an NPC line was committed in its turn)."""
    row = await store.fetch_one(
        "SELECT 1 FROM messages WHERE turn_id = ? AND kind = 'npc' LIMIT 1", (message.turn_id,)
    )
    return row is not None


async def _forget_retellings(store: Store, conn: Database, message: MessageRow) -> None:
    """Summaries, and the notes written with them, that covered this line: rewritten later without it."""
    await conn.execute("DELETE FROM summaries WHERE scene_id = ? AND upto_message >= ?", (message.scene_id, message.id))
    await store.memory.forget_notes_after(conn, message.scene_id, message.id - 1)


async def replace_text(store: Store, message: MessageRow, text: str, facts: Iterable[FactRecord]) -> None:
    """The line's new text and the facts it now states (the old ones are forgotten), in one transaction."""
    async with store.transaction() as conn:
        await conn.execute("UPDATE messages SET text = ? WHERE id = ?", (text, message.id))
        await conn.execute("DELETE FROM facts WHERE message_id = ?", (message.id,))
        store.history.insert_facts(conn, message.scene_id, message.turn_id, message.id, facts)
        await store.memory.replace_text(conn, message.id, message.speaker, text)
        await _forget_retellings(store, conn, message)


async def delete_line(store: Store, message: MessageRow) -> None:
    """Remove the line and what derives from it (facts, hearers and search rows by cascade and triggers)."""
    async with store.transaction() as conn:
        await conn.execute("DELETE FROM messages WHERE id = ?", (message.id,))
        await _forget_retellings(store, conn, message)
