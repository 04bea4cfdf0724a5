"""Replay a transcript through the detectors with the context a live scene would have given them.

Shared by ``lint-transcript``, the detector scorer and the evaluation report, so that all three see the
same findings: each NPC reply is checked with the speaker's name, the user's and the cast's names, the
scene's language, the length target (words or characters) and that NPC's own earlier replies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.quality import language
from bot.quality.detect import detect_all
from bot.quality.findings import Finding, ReplyContext
from bot.quality.meta import LengthTarget, TranscriptMeta
from bot.quality.text import length_of
from bot.quality.transcript import Transcript, TranscriptLine

RECENT_REPLIES = 32  # = the repetition detector's windows (recent and older)
DEFAULT_LENGTH = LengthTarget("words", 8, 140)


@dataclass(frozen=True, slots=True)
class SceneContext:
    """What every reply of one transcript is checked against: names, language, length target."""

    language: str
    users: tuple[str, ...]
    characters: tuple[str, ...]
    npc_languages: tuple[str, ...]
    length: LengthTarget
    fallback_npc: str
    meta: TranscriptMeta | None = None

    def languages_of(self, name: str) -> tuple[str, ...]:
        return self.meta.languages_of(name) if self.meta is not None else self.npc_languages


def scene_context(
    transcript: Transcript,
    *,
    user_names: Sequence[str] | None = None,
    npc_name: str | None = None,
    characters: Sequence[str] | None = None,
    scene_language: str | None = None,
    length: LengthTarget | None = None,
    meta: TranscriptMeta | None = None,
) -> SceneContext:
    """Explicit arguments first, then the sidecar, then what the transcript itself shows."""
    meta = meta or TranscriptMeta()
    lang = (
        scene_language
        or meta.language
        or language.dominant_language("\n".join(line.text for line in transcript.lines))
    )
    users = tuple(
        user_names
        or meta.user_names
        or transcript.user_speakers
        or ([transcript.user_name] if transcript.user_name else ["user"])
    )
    names = dict.fromkeys([*transcript.npc_speakers, *meta.npc_names, *meta.other_names, *(characters or [])])
    fallback = npc_name or transcript.ai_name or (meta.npc_names[0] if len(meta.npc_names) == 1 else "")
    return SceneContext(
        language=lang,
        users=users,
        characters=tuple(names),
        npc_languages=meta.npc_languages,
        length=length or meta.length or DEFAULT_LENGTH,
        fallback_npc=fallback,
        meta=meta,
    )


def reply_contexts(transcript: Transcript, scene: SceneContext) -> Iterator[tuple[TranscriptLine, str, ReplyContext]]:
    """Every NPC reply with the speaker's name and the context a detector sees for it, in order (the
    context grows as it goes: each NPC's earlier replies)."""
    history: dict[str, list[str]] = {}
    unit = scene.length.unit
    for line in transcript.npc_lines():
        name = line.speaker or scene.fallback_npc
        past = history.setdefault(name or "ai", [])
        yield line, name, ReplyContext(
            npc_name=name,
            user_names=scene.users,
            other_names=[n for n in scene.characters if n != name],
            language=scene.language,
            recent_replies=past[-RECENT_REPLIES:],
            min_words=scene.length.min,
            max_words=scene.length.max,
            length_unit=unit,
            previous_lengths=[length_of(t, unit) for t in past],
            npc_languages=scene.languages_of(name),
        )
        past.append(line.text)


def lint_replies(transcript: Transcript, scene: SceneContext) -> Iterator[tuple[TranscriptLine, str, list[Finding]]]:
    """Every NPC reply with the speaker's name and its findings, in order."""
    for line, name, ctx in reply_contexts(transcript, scene):
        yield line, name, detect_all(line.text, ctx)
