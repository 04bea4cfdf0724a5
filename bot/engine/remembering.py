"""What the engine does with memory besides prompts: rolling summaries off the hot path, rewind, and
``/memory`` (what a character remembers). A mixin of ``SceneEngine``.

Summaries: after a turn commits, if ``summary_every`` turns passed since the last summary, one
background task (owned by the engine, cancelled on close) asks the model for a JSON object with one
short summary per scene member, each written from what that member heard. A failing or invalid call
changes nothing; the reply that triggered it never waits for it.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.engine.lines import SceneKey
from bot.engine.ports import ChatMessage, ChatOptions
from bot.errors import ModelUnavailable
from bot.i18n import term, tr
from bot.memory.retrieval import Memory, pinned, rank
from bot.store.records import SceneRow

if TYPE_CHECKING:
    from bot.engine.scene import SceneEngine

log = structlog.get_logger("memory")

SUMMARY_LINES = 120
SUMMARY_WORDS = 120


class SummaryReply(BaseModel):
    """The summariser's answer: character id -> summary."""

    model_config = ConfigDict(extra="forbid")

    summaries: dict[str, str] = Field(default_factory=dict)


class Remembering:
    """Memory operations mixed into ``SceneEngine``."""

    # -- summaries -------------------------------------------------------------------------------

    def schedule_summary(self: SceneEngine, scene: SceneRow) -> None:
        """Start a background summary for a scene if one is due and none is running."""
        if scene.id in self._summarising:
            return
        task = asyncio.create_task(self._summary_if_due(scene), name=f"summary-scene-{scene.id}")
        self._summarising[scene.id] = task
        task.add_done_callback(lambda _: self._summarising.pop(scene.id, None))

    async def drain(self: SceneEngine) -> None:
        """Wait for background memory work (tests, and a clean shutdown of the terminal)."""
        while self._summarising:
            await asyncio.gather(*list(self._summarising.values()), return_exceptions=True)

    async def aclose(self: SceneEngine) -> None:
        """Cancel background work (the Discord client and the terminal call this on shutdown)."""
        for task in list(self._summarising.values()):
            task.cancel()
        await asyncio.gather(*list(self._summarising.values()), return_exceptions=True)

    async def _summary_if_due(self: SceneEngine, scene: SceneRow) -> None:
        try:
            world = self.world(scene.world_id)
            upto = await self.store.summarised_upto(scene.id)
            if await self.store.turns_after_message(scene.id, upto) < world.settings.summary_every:
                return
            rows = await self.store.recent_messages(scene.id, SUMMARY_LINES * 2)
            fresh = [r for r in rows if r.id > upto and r.kind != "ooc"]
            turns = len({r.turn_id for r in fresh})
            if turns < world.settings.summary_every or not fresh:
                return
            members = [m for m in await self.store.members(scene.id) if m in self.library.characters]
            if not members:
                return
            texts = await self._summarise(scene, members, fresh[-SUMMARY_LINES:])
            if texts:
                await self.store.add_summaries(scene.id, fresh[-1].id, texts)
                log.info("memory.summary", scene=scene.id, characters=sorted(texts), upto=fresh[-1].id)
        except asyncio.CancelledError:
            raise
        except Exception:  # off the hot path: a failed summary changes nothing and is only logged
            log.exception("memory.summary_failed", scene=scene.id)

    async def _summarise(self: SceneEngine, scene: SceneRow, members: list[str], rows: list) -> dict[str, str]:
        names = {m: self.library.characters[m].name for m in members}
        previous = {m: (await self.store.latest_summary(scene.id, m) or ("", 0))[0] for m in members}
        transcript = "\n".join(
            f"[heard by: {', '.join(h for h in r.heard_by if h in names) or 'nobody'}] {r.speaker}: {r.text}" for r in rows
        )
        system = (
            "You keep the memory of characters in a role-play. For each character id given, write what THAT "
            f"character knows of the story so far, in at most {SUMMARY_WORDS} words, third person, past tense: "
            "who is who, promises, possessions, secrets, injuries, decisions. A character knows only lines it "
            "heard (see [heard by: ...]) or said, and its previous summary. Answer JSON only: "
            '{"summaries": {"<character id>": "<summary>"}}.'
        )
        user = json.dumps({"characters": names, "previous": previous}, ensure_ascii=False) + "\n\nNew lines:\n" + transcript
        try:
            result = await self.model_for(scene.guild_id, "summary").complete(
                [ChatMessage("system", system), ChatMessage("user", user)],
                ChatOptions(max_tokens=600, temperature=0.3, json_mode=True, model=self.narrator_model),
            )
            body = result.text[result.text.find("{") : result.text.rfind("}") + 1]
            reply = SummaryReply.model_validate(json.loads(body))
        except (ModelUnavailable, ValidationError, ValueError) as exc:
            log.warning("memory.summary_unusable", scene=scene.id, error=str(exc)[:200])
            return {}
        return {cid: text.strip()[:2000] for cid, text in reply.summaries.items() if cid in names and text.strip()}

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
            self._windows = {k: v for k, v in self._windows.items() if k[0] != scene.id}
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
        facts = [Memory(fid, text, importance, seq, kind) for fid, kind, text, importance, seq in await self.store.known_facts(scene.id, character.id)]
        top = pinned(facts, 8)
        if top:
            lines.append(tr(lang, "memory.facts"))
            lines.extend(tr(lang, "memory.fact", kind=term(lang, "fact", m.kind), importance=m.importance, text=m.text) for m in top)
        recent = await self.store.recent_messages(scene.id, 6)
        query = "\n".join(r.text for r in recent)
        recalled = [s.memory for s in rank(facts, query, recent[-1].id if recent else 0) if s.memory not in top][:4]
        if recalled:
            lines.append(tr(lang, "memory.recalled"))
            lines.extend(f"- {m.text}" for m in recalled)
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
        if not top and not summary and not events:
            lines.append(tr(lang, "memory.nothing"))
        return "\n".join(lines)
