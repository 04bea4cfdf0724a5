"""Control of the table per scene: the answer mode (``lively``, ``mentioned``, ``manual``) and who is hushed.

A repository beside ``Store``. Writes are made by ``bot.engine.table`` inside the world's gate.
"""

from __future__ import annotations

from bot.store.store import Store

MODES = ("lively", "mentioned", "manual")
DEFAULT_MODE = "lively"


class TableStore:
    """Reads and writes of ``scene_answer_mode`` and ``scene_hushed``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def mode(self, scene_id: int) -> str:
        row = await self.store.fetch_one("SELECT mode FROM scene_answer_mode WHERE scene_id = ?", (scene_id,))
        return row[0] if row else DEFAULT_MODE

    async def set_mode(self, scene_id: int, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown answer mode {mode!r}")
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO scene_answer_mode (scene_id, mode, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (scene_id) DO UPDATE SET mode = excluded.mode, updated_at = excluded.updated_at",
                (scene_id, mode, self.store.now()),
            )

    async def hushed(self, scene_id: int) -> frozenset[str]:
        rows = await self.store.fetch_all("SELECT character_id FROM scene_hushed WHERE scene_id = ?", (scene_id,))
        return frozenset(r[0] for r in rows)

    async def set_hushed(self, scene_id: int, character_id: str, hushed: bool) -> bool:
        """Hush or release a character; False when nothing changed (already so)."""
        async with self.store.transaction() as conn:
            if hushed:
                changed = await conn.execute(
                    "INSERT INTO scene_hushed (scene_id, character_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (scene_id, character_id, self.store.now()),
                )
            else:
                changed = await conn.execute(
                    "DELETE FROM scene_hushed WHERE scene_id = ? AND character_id = ?", (scene_id, character_id)
                )
            return bool(changed)
