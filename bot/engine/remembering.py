"""What the engine does with memory besides prompts: per-character summaries and notes off the hot path,
and the embedding worker's lifecycle.

A service composed into ``SceneEngine`` (``engine.memory_upkeep``). It owns the background summary tasks
(one per scene) and each character's summary backoff, so whoever must stop them (a rewind, an edit or
delete of a line, a server reset) asks it to (``cancel``, ``forget``) instead of reaching into the
engine's state; its collaborators (store, library, the world lookup, the metered model, the embedding
worker) are given in its constructor. Rewind stays with the engine (it holds the scene's lock and the
world's gate and drops the engine's caches); ``/memory`` is a command (``bot.engine.commands``).

Summaries: after a turn commits, one background task per scene (cancelled on close) looks at each
member in turn. When ``summary_every`` turns passed since that member's last
summary, it asks the model for a JSON object with the member's new summary and short standalone
facts, built **only from lines that member heard** (``heard_lines``), so a careless model cannot leak
what the member never heard. Facts become deduplicated notes, searchable like lines. A failing call
changes nothing and is retried with backoff per member (2, 4, 8... more turns, at most four summary
periods), never on every following turn; the reply that triggered it never waits for it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.ports import ChatMessage, ChatModel, ChatOptions
from bot.errors import ModelUnavailable
from bot.store.records import SceneRow

if TYPE_CHECKING:
    from bot.content.loader import Library
    from bot.engine.primitives import Worlds
    from bot.engine.recollection import EmbeddingWorker
    from bot.store import Store

# The engine's ``model_for``: the model for one call, the server's budget checked, its tokens counted
# under the purpose (guild id, purpose).
ModelFor = Callable[[str, str], ChatModel]

log = structlog.get_logger("memory")

SUMMARY_LINES = 160
SUMMARY_WORDS = 120
MAX_NOTES = 8
NOTE_CHARS = 300


class SummaryReply(BaseModel):
    """The summariser's answer for one character: its summary and the facts it learned."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1)
    facts: list[str] = Field(default_factory=list)


def summary_retry_delay(failures: int, summary_every: int) -> int:
    """Turns to wait after the n-th failure in a row before asking again (pure, for the tests)."""
    return min(2**failures, max(2, 4 * summary_every))


class MemoryUpkeep:
    """Background memory work: the summary pass of each scene, its backoff per character, the embedder."""

    def __init__(
        self,
        *,
        store: Store,
        library: Library,
        worlds: Worlds,
        model_for: ModelFor,
        narrator_model: str | None = None,
        embedding_worker: EmbeddingWorker | None = None,
    ) -> None:
        self.store = store
        self.library = library
        self.worlds = worlds
        self.model_for = model_for
        self.narrator_model = narrator_model
        self.embedding_worker = embedding_worker
        self._summarising: dict[int, asyncio.Task[None]] = {}  # scene id -> its running summary pass
        # (scene id, character id) -> (failures in a row, turns waiting at the last failure)
        self._summary_backoff: dict[tuple[int, str], tuple[int, int]] = {}

    def start_background(self) -> None:
        """Start the embedding worker (it first catches up lines the last run left unembedded)."""
        if self.embedding_worker is not None:
            self.embedding_worker.start()

    def schedule_summary(self, scene: SceneRow) -> None:
        """After a commit: wake the embedder; start a background summary pass if none is running."""
        if self.embedding_worker is not None:
            self.embedding_worker.start()
            self.embedding_worker.wake()
        if scene.id in self._summarising:
            return
        task = asyncio.create_task(self._summaries_if_due(scene), name=f"summary-scene-{scene.id}")
        self._summarising[scene.id] = task
        task.add_done_callback(lambda _: self._summarising.pop(scene.id, None))

    async def drain(self) -> None:
        """Wait for background memory work (tests, the benchmark, a clean shutdown of the terminal)."""
        while self._summarising:
            await asyncio.gather(*list(self._summarising.values()), return_exceptions=True)
        if self.embedding_worker is not None:
            await self.embedding_worker.drain()

    async def aclose(self) -> None:
        """Cancel background work (the Discord client, the terminal and ``open_app`` call this on shutdown)."""
        for task in list(self._summarising.values()):
            task.cancel()
        await asyncio.gather(*list(self._summarising.values()), return_exceptions=True)
        if self.embedding_worker is not None:
            await self.embedding_worker.aclose()

    async def cancel(self, *scene_ids: int) -> None:
        """Stop the summary passes of these scenes and wait until they stopped: their lines are about to
        change or went (a rewind, an edited or deleted line, a reset), and what a pass read before must not
        be written. The next commit schedules a fresh pass."""
        tasks = [task for sid, task in list(self._summarising.items()) if sid in scene_ids]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def forget(self, scene_id: int) -> None:
        """Drop the scene's summary backoff (its turns were rewound: the counts no longer apply)."""
        self._summary_backoff = {k: v for k, v in self._summary_backoff.items() if k[0] != scene_id}

    async def _summaries_if_due(self, scene: SceneRow) -> None:
        try:
            world = self.worlds.world(scene.world_id)
            every = world.settings.summary_every
            for member in [m for m in await self.store.members(scene.id) if m in self.library.characters]:
                previous = await self.store.latest_summary(scene.id, member)
                upto = previous[1] if previous else 0
                waiting = await self.store.turns_after_message(scene.id, upto)
                failures, failed_at = self._summary_backoff.get((scene.id, member), (0, 0))
                if waiting < every or (failures and waiting < failed_at + summary_retry_delay(failures, every)):
                    continue
                # The summary is "as of" the scene's newest line when its lines were read, heard or not: a
                # rewind past that point removes it, so a summary a rewound turn brought about goes with it.
                newest = await self.store.recent_messages(scene.id, 1)
                rows = [row for row, _ in await self.store.heard_lines(scene.id, member, limit=SUMMARY_LINES) if row.id > upto]
                if not rows:
                    continue
                as_of = max(rows[-1].id, newest[-1].id if newest else 0)
                written = await self._summarise(scene, member, previous[0] if previous else "", rows)
                if written is None:
                    self._summary_backoff[(scene.id, member)] = (failures + 1, waiting)
                    continue
                self._summary_backoff.pop((scene.id, member), None)
                summary, facts = written
                await self.store.add_summaries(scene.id, as_of, {member: summary})
                added = await self.store.add_notes(scene.id, member, as_of, facts)
                log.info("memory.summary", scene=scene.id, character=member, upto=as_of, notes=len(added))
                if self.embedding_worker is not None:
                    self.embedding_worker.wake()
        except asyncio.CancelledError:
            raise
        except Exception:  # off the hot path: a failed summary changes nothing and is only logged
            log.exception("memory.summary_failed", scene=scene.id)

    async def _summarise(self, scene: SceneRow, member: str, previous: str, rows: list) -> tuple[str, list[str]] | None:
        """One model call for one character, from lines it heard; ``None`` when the answer is unusable."""
        name = self.library.characters[member].name
        transcript = "\n".join(f"{r.speaker}: {r.text}" for r in rows)
        system = (
            f"You keep the memory of {name}, a character in a role-play. From {name}'s previous summary and the "
            f"new lines {name} heard, answer JSON only: "
            '{"summary": "<what ' + name + f' knows of the story so far, at most {SUMMARY_WORDS} words, third person, '
            'past tense>", "facts": ["<one short standalone statement per lasting fact learned in the new lines: who '
            "is who, family, origins, work, places, possessions, promises, secrets, injuries, plans; name the people "
            f'(never I or you)>"]}}. At most {MAX_NOTES} facts; only what these lines say.'
        )
        user = f"Previous summary of {name}: {previous or '(none)'}\n\nNew lines {name} heard:\n{transcript}"
        try:
            result = await self.model_for(scene.guild_id, "summary").complete(
                [ChatMessage("system", system), ChatMessage("user", user)],
                ChatOptions(max_tokens=700, temperature=0.3, json_mode=True, model=self.narrator_model),
            )
            body = result.text[result.text.find("{") : result.text.rfind("}") + 1]
            reply = SummaryReply.model_validate(json.loads(body))
        except (ModelUnavailable, ValidationError, ValueError) as exc:
            log.warning("memory.summary_unusable", scene=scene.id, character=member, error=str(exc)[:200])
            return None
        facts = [f.strip()[:NOTE_CHARS] for f in reply.facts if isinstance(f, str) and f.strip()][:MAX_NOTES]
        return reply.summary.strip()[:2000], facts
