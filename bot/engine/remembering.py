"""What the engine does with memory besides prompts: per-character summaries and notes off the hot path,
the embedding worker's lifecycle, rewind, and ``/memory`` (what a character remembers). A mixin of
``SceneEngine``.

Summaries: after a turn commits, one background task per scene (owned by the engine, cancelled on
close) looks at each member in turn. When ``summary_every`` turns passed since that member's last
summary, it asks the model for a JSON object with the member's new summary and short standalone
facts, built **only from lines that member heard** (``heard_lines``), so a careless model cannot leak
what the member never heard. Facts become deduplicated notes, searchable like lines. A failing call
changes nothing and is retried with backoff per member (2, 4, 8... more turns, at most four summary
periods), never on every following turn; the reply that triggered it never waits for it.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.ports import ChatMessage, ChatOptions
from bot.engine.lines import SceneKey
from bot.engine.recollection import query_of
from bot.errors import ModelUnavailable
from bot.i18n import tr
from bot.store.records import SceneRow

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine

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


class Remembering:
    """Memory operations mixed into ``SceneEngine``."""

    # -- background work -------------------------------------------------------------------------

    def start_background(self: SceneEngine) -> None:
        """Start the embedding worker (it first catches up lines the last run left unembedded)."""
        if self.embedding_worker is not None:
            self.embedding_worker.start()

    def schedule_summary(self: SceneEngine, scene: SceneRow) -> None:
        """After a commit: wake the embedder; start a background summary pass if none is running."""
        if self.embedding_worker is not None:
            self.embedding_worker.start()
            self.embedding_worker.wake()
        if scene.id in self._summarising:
            return
        task = asyncio.create_task(self._summaries_if_due(scene), name=f"summary-scene-{scene.id}")
        self._summarising[scene.id] = task
        task.add_done_callback(lambda _: self._summarising.pop(scene.id, None))

    async def drain(self: SceneEngine) -> None:
        """Wait for background memory work (tests, the benchmark, a clean shutdown of the terminal)."""
        while self._summarising:
            await asyncio.gather(*list(self._summarising.values()), return_exceptions=True)
        if self.embedding_worker is not None:
            await self.embedding_worker.drain()

    async def aclose(self: SceneEngine) -> None:
        """Cancel background work (the Discord client, the terminal and ``open_app`` call this on shutdown)."""
        for task in list(self._summarising.values()):
            task.cancel()
        await asyncio.gather(*list(self._summarising.values()), return_exceptions=True)
        if self.embedding_worker is not None:
            await self.embedding_worker.aclose()

    async def _summaries_if_due(self: SceneEngine, scene: SceneRow) -> None:
        try:
            world = self.world(scene.world_id)
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

    async def _summarise(self: SceneEngine, scene: SceneRow, member: str, previous: str, rows: list) -> tuple[str, list[str]] | None:
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

    # -- rewind ----------------------------------------------------------------------------------

    async def rewind(self: SceneEngine, key: SceneKey, turns: int) -> int:
        """Undo the last ``turns`` turns with every state change they caused; return how many went."""
        if turns <= 0:
            return 0
        scene = await self.require_scene(key)
        async with self.lock(scene.id):
            task = self._summarising.get(scene.id)
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            world = self.world(scene.world_id)

            def replay_scene(scene_events):
                location = world.start_location
                members: dict[str, str] = {}
                for event in scene_events:
                    if event["kind"] == "move" and event["subject"] == "user":
                        location = event["payload"]["to"]
                    elif event["kind"] == "summon":
                        members.setdefault(event["subject"], event["created_at"])
                    elif event["kind"] == "dismiss":
                        members.pop(event["subject"], None)
                return location, list(members.items())

            async with self.gate.hold(scene.guild_id, scene.world_id):
                removed = await self.store.rewind(scene, turns, self.replay_states(world, scene.guild_id), replay_scene)
            self.forget_scene_caches(scene.id)
            self._summary_backoff = {k: v for k, v in self._summary_backoff.items() if k[0] != scene.id}
            log.info("scene.rewind", scene=scene.id, turns=removed)
            return removed

    # -- inspection ------------------------------------------------------------------------------

    async def memory(self: SceneEngine, key: SceneKey, name: str) -> str:
        """What a character currently remembers of this scene: summary, facts, what it witnessed, feelings."""
        scene = await self.require_scene(key)
        world = self.world(scene.world_id)
        character = self._find_character(world, name, scene.guild_id)
        lang = world.language
        lines = [tr(lang, "memory.title", name=character.name)]
        summary = await self.store.latest_summary(scene.id, character.id)
        lines.append(tr(lang, "memory.summary", summary=summary[0]) if summary else tr(lang, "memory.no_summary"))
        notes = await self.store.memory.notes(scene.id, character.id, limit=12)
        if notes:
            lines.append(tr(lang, "memory.facts"))
            lines.extend(f"- {n.text}" for n in notes)
        heard = await self.store.heard_lines(scene.id, character.id, limit=8)
        query = query_of(heard, character.id)
        recalled = await self.recollection.recall(scene.id, character.id, query, k=4, names=character.all_names()) if query else []
        if query is not None:
            lines.append(tr(lang, "memory.latest", speaker=query.speaker, text=query.text))
        if recalled:
            lines.append(tr(lang, "memory.recalled"))
            lines.extend(
                f"- {r.text}" if r.kind == "note" else tr(lang, "memory.recalled_line", turn=r.turn_seq, speaker=r.speaker, text=r.text)
                for r in recalled
            )
        events = await self.store.witnessed_events(scene.guild_id, scene.world_id, character.id, kinds=("offscreen",), limit=5)
        if events:
            lines.append(tr(lang, "memory.offscreen"))
            lines.extend(f"- {e['payload'].get('text', '')}" for e in events)
        state = (await self.store.npc_states(scene.guild_id, scene.world_id)).get(character.id)
        if state is not None:
            lines.append(tr(lang, "memory.state", mood=state.mood_label, intensity=state.mood_intensity, place=world.location(state.location).name))
            for target, relation in sorted(state.relationships.items()):
                who = tr(lang, "feelings.players") if target == "user" else self.library.characters[target].name if target in self.library.characters else target
                note, affinity = str(relation.get("note", "")).strip(), int(relation.get("affinity", 0))
                lines.append(tr(lang, "memory.feels_note" if note else "memory.feels", affinity=affinity, who=who, note=note))
        if not notes and not recalled and not summary and not events:
            lines.append(tr(lang, "memory.nothing"))
        return "\n".join(lines)
