"""The transcript export format: JSON Lines, one record per line of the story.

``{"kind": "user"|"npc"|"narration"|"ooc", "speaker", "text", "turn", "message_id", "ts"}``;
``python -m bot lint-transcript`` reads exactly this shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from bot.store.records import MessageRow


def export_records(rows: Sequence[MessageRow]) -> list[dict[str, object]]:
    """Records in story order; ``turn`` numbers the turns of the scene from 1."""
    turn_numbers: dict[int, int] = {}
    records = []
    for row in rows:
        number = turn_numbers.setdefault(row.turn_id, len(turn_numbers) + 1)
        records.append(
            {
                "kind": row.kind,
                "speaker": row.speaker,
                "text": row.text,
                "turn": number,
                "message_id": row.platform_message_id or str(row.id),
                "ts": row.created_at,
            }
        )
    return records


def to_jsonl(records: Iterable[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
