"""The engine's side of pacing: read a scene's behaviour, infer its pace, let it steer the turn; ``/pacing``.

A service composed into ``SceneEngine`` (``engine.paces``): it owns the pace of every scene, refreshed at
the start of every player turn (one round trip to the store) and kept per scene, so the scheduler's chain chance, the
director's hook timing and the reply length of the turn's replies all use the same estimate, and ``/why``
can show it. It is its own object, holding that cache, so nothing else writes the pace and what it reads
(the store, the scene and its world) is named in its constructor.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.engine.scheduler import SchedulerSettings
from bot.errors import EnsembleError
from bot.i18n import CODES, tr
from bot.quality.text import word_count
from bot.store import pacing as rows
from bot.world.pacing import (
    LABELS,
    HookOffer,
    NpcLine,
    Observations,
    Pace,
    UserLine,
    followed_hook,
    infer_pace,
)

if TYPE_CHECKING:
    from bot.engine.lines import SceneKey
    from bot.engine.primitives import Scenes
    from bot.store import Store
    from bot.store.records import SceneRow


# The recent lines' word counts, kept: every player turn reads the last 24 lines and their alternatives
# again, nearly all of them counted the turn before (a few hundred texts bound it).
_words = lru_cache(maxsize=1024)(word_count)


def observations(data: rows.PacingRows) -> Observations:
    """The scene's recent behaviour as ``Observations`` (turn ids link hooks to the lines after them)."""
    hook_turns = {turn for turn, _ in data.hooks}
    users = data.user_lines
    hooks = []
    for turn, text in data.hooks:
        after = next((t for _, t, tid in users if tid > turn), None)
        if after is not None:
            hooks.append(HookOffer(text, followed_hook(text, after)))
    npc = []
    for turn, active, texts, _ in data.npc_lines:
        if not texts:
            continue
        kept = texts[min(active, len(texts) - 1)]
        others = tuple(_words(t) for i, t in enumerate(texts) if i != active)
        npc.append(NpcLine(len(texts), _words(kept), others, after_hook=turn in hook_turns))
    return Observations(
        user_lines=tuple(UserLine(at, _words(text), text) for at, text, _ in users),
        npc_lines=tuple(npc),
        hooks=tuple(hooks),
    )


def paced(settings: SchedulerSettings, pace: Pace | None) -> SchedulerSettings:
    """The scheduler's settings with the chance of a reaction scaled by the pace (a fast table gets the floor back)."""
    if pace is None or pace.chain_factor == 1.0 or settings.chain_base >= 1.0:
        return settings
    return replace(settings, chain_base=min(0.95, settings.chain_base * pace.chain_factor))


def pace_instruction(pace: Pace, low: int, high: int, unit: str) -> str | None:
    """The tail line that carries the steered length target (the static prompt keeps the world's, for caching)."""
    if pace.length_factor == 1.0:
        return None
    lo, hi = pace.steer_length(low, high)
    return f"The table plays at a {pace.label} pace: keep this reply between {lo} and {hi} {unit}."


class Pacing:
    """The pace of each scene: inferred from the table's behaviour (or pinned), kept until the next refresh."""

    def __init__(self, store: Store, scenes: Scenes) -> None:
        self.store = store
        self.scenes = scenes
        self._paces: dict[int, Pace] = {}

    async def refresh(self, scene: SceneRow) -> Pace:
        """Infer the scene's pace from what it shows now (or its pin) and keep it for the turn."""
        data = await rows.pacing_rows(self.store, scene.id)
        pace = infer_pace(observations(data), data.pinned)  # type: ignore[arg-type]
        self._paces[scene.id] = pace
        return pace

    def current(self, scene_id: int) -> Pace | None:
        """The pace kept at the scene's last refresh (``None`` before its first player turn)."""
        return self._paces.get(scene_id)

    async def describe(self, key: SceneKey) -> str:
        """``/pacing``: what was inferred from the table, why, and what it changes."""
        scene = await self.scenes.require_scene(key)
        return (await self.refresh(scene)).describe(self.scenes.world(scene.world_id).language)

    async def pin(self, key: SceneKey, label: str) -> str:
        """``/pacing slow|steady|fast`` pins the pace (admins); ``auto`` goes back to inferring it. The
        choice may be typed in English or in any catalog language ("快", "自动")."""
        scene = await self.scenes.require_scene(key)
        lang = self.scenes.world(scene.world_id).language
        wanted = label.strip().casefold()
        choice = next(
            (c for c in (*LABELS, "auto") if wanted in {c, *(tr(code, f"pacing.{c}").casefold() for code in CODES)}), None
        )
        if choice is None:
            raise EnsembleError(tr(lang, "pacing.usage"))
        await rows.pin_pace(self.store, scene.id, None if choice == "auto" else choice)
        return (await self.refresh(scene)).describe(lang)
