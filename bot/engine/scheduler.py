"""Who speaks next: a pure, explainable score per candidate, and whether a chain of NPC lines goes on.

Only characters who can hear a line are candidates. The score adds up, with a reason for each part:
being addressed (name, alias, mention, reply to its message), being asked a question, relevance of
the line to its goals and relationships, mood, talkativeness, and fairness (time since it last spoke).

Per user line: everyone addressed answers (in the order named) up to ``max_speakers``; if nobody is
addressed, the best candidate answers and, for an open question, a second may join. After an NPC
speaks, another NPC may react (or the same one continue) with probability ``chain_base * decay**k``,
never more than ``chain_cap`` times per user line. Determinism comes from the injected ``rng``.

The players control the table (``TableRules``): a hushed character is scored (``/why`` shows it) but never
chosen; in ``mentioned`` mode only characters named or replied to answer (and only a character named in
an NPC's line reacts to it); in ``manual`` mode nobody answers on their own (``/nudge`` makes one speak).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.i18n import tr

AROUSED = {"angry", "excited", "jovial", "furious", "eager", "hurt", "warm", "cheerful", "restless", "scheming", "喜", "怒", "兴奋"}
SUBDUED = {"sad", "tired", "sullen", "withdrawn", "weary", "calm", "shy", "afraid", "沉默", "疲惫", "害怕"}
WORD = re.compile(r"[A-Za-z]{4,}|[\u4e00-\u9fff]{2}")
FAIRNESS_SATURATION = 6
NEVER = 1 << 20


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    """Tuning knobs; a world sets them in ``settings``, a character through ``talkativeness``."""

    max_speakers: int = 2
    chain_cap: int = 2
    chain_base: float = 0.45
    chain_decay: float = 0.5
    second_speaker: float = 0.35


ANSWER_MODES = ("lively", "mentioned", "manual")


@dataclass(frozen=True, slots=True)
class TableRules:
    """What the players decided about who may answer in this channel: the answer mode and who is hushed."""

    mode: str = "lively"
    hushed: frozenset[str] = frozenset()

    def may_answer(self, candidate: Candidate) -> bool:
        if candidate.character_id in self.hushed or self.mode == "manual":
            return False
        if self.mode == "mentioned":
            return candidate.replied_to or candidate.addressed_at is not None
        return True

    def note_when_nobody(self) -> str:
        """The decision note when the rules leave nobody to answer."""
        if self.mode == "manual":
            return tr("en", "why.note.manual")
        if self.mode == "mentioned":
            return tr("en", "why.note.not_mentioned")
        return tr("en", "why.note.all_hushed")


LIVELY = TableRules()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A character who can hear the line, with what the scheduler weighs."""

    character_id: str
    talkativeness: float
    lines_since_spoke: int
    addressed_at: int | None = None
    replied_to: bool = False
    topics: frozenset[str] = frozenset()
    mood_label: str = "calm"
    mood_intensity: float = 0.3
    spoke_last: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The chosen speakers in order, and every candidate's score with its reasons."""

    speakers: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""

    def explain(self, names: dict[str, str] | None = None) -> str:
        """A few lines for people: who was chosen and why, best score first."""
        names = names or {}
        lines = [self.note] if self.note else []
        for cid, score in sorted(self.scores.items(), key=lambda kv: -kv[1]):
            mark = "->" if cid in self.speakers else "  "
            lines.append(f"{mark} {names.get(cid, cid)}: {score:.2f} ({'; '.join(self.reasons.get(cid, []))})")
        return "\n".join(lines)


def topic_words(*texts: str) -> frozenset[str]:
    """Content words of a character's goals and relationship notes, for relevance."""
    return frozenset(w.lower() for text in texts for w in WORD.findall(text))


def score(candidate: Candidate, *, question: bool, line_words: frozenset[str], rng: random.Random) -> tuple[float, list[str]]:
    """One candidate's score and the reasons behind each part."""
    parts: list[tuple[float, str]] = []
    if candidate.replied_to:
        parts.append((6.0, tr("en", "why.reason.replied")))
    if candidate.addressed_at is not None:
        parts.append((5.0, tr("en", "why.reason.named")))
        if question:
            parts.append((1.0, tr("en", "why.reason.asked")))
    elif question:
        parts.append((0.4, tr("en", "why.reason.open_question")))
    overlap = len(candidate.topics & line_words)
    if overlap:
        parts.append((min(1.0, 0.35 * overlap), tr("en", "why.reason.goals", n=overlap)))
    label = candidate.mood_label.lower()
    if label in AROUSED:
        parts.append((0.3 * candidate.mood_intensity, tr("en", "why.reason.mood", mood=label)))
    elif label in SUBDUED:
        parts.append((-0.3 * candidate.mood_intensity, tr("en", "why.reason.mood", mood=label)))
    parts.append((candidate.talkativeness, tr("en", "why.reason.talkativeness", value=f"{candidate.talkativeness:.2f}")))
    fairness = min(candidate.lines_since_spoke, FAIRNESS_SATURATION) / FAIRNESS_SATURATION
    parts.append((0.8 * fairness, tr("en", "why.reason.quiet", n=candidate.lines_since_spoke) if candidate.lines_since_spoke < NEVER else tr("en", "why.reason.never_spoke")))
    if candidate.spoke_last and candidate.addressed_at is None and not candidate.replied_to:
        parts.append((-0.5, tr("en", "why.reason.spoke_last")))
    jitter = rng.random() * 0.05
    return round(sum(p for p, _ in parts) + jitter, 4), [r for _, r in parts]


def _table_scores(
    candidates: Sequence[Candidate], table: TableRules, *, question: bool, line_words: frozenset[str], rng: random.Random
) -> tuple[dict[str, float], dict[str, list[str]], list[Candidate]]:
    """Every candidate's score (drawn in candidate order, whatever the rules, so replays match) and those allowed to answer."""
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for candidate in candidates:
        scores[candidate.character_id], reasons[candidate.character_id] = score(
            candidate, question=question, line_words=line_words, rng=rng
        )
        if candidate.character_id in table.hushed:
            reasons[candidate.character_id].append(tr("en", "why.reason.hushed"))
    return scores, reasons, [c for c in candidates if table.may_answer(c)]


def choose_for_line(
    candidates: Sequence[Candidate], *, question: bool, line_words: frozenset[str], settings: SchedulerSettings, rng: random.Random,
    table: TableRules = LIVELY,
) -> Decision:
    """Speakers for a user line, among those the table's rules allow."""
    if not candidates or settings.max_speakers <= 0:
        return Decision((), note=tr("en", "why.note.nobody_hears") if not candidates else tr("en", "why.note.speaking_off"))
    scores, reasons, allowed = _table_scores(candidates, table, question=question, line_words=line_words, rng=rng)
    if not allowed:
        return Decision((), scores, reasons, table.note_when_nobody())
    candidates = allowed
    addressed = [c for c in candidates if c.replied_to or c.addressed_at is not None]
    if addressed:
        ordered = sorted(addressed, key=lambda c: (not c.replied_to, c.addressed_at if c.addressed_at is not None else 1 << 30))
        return Decision(tuple(c.character_id for c in ordered[: settings.max_speakers]), scores, reasons, tr("en", "why.note.addressed"))
    ranked = sorted(candidates, key=lambda c: -scores[c.character_id])
    speakers = [ranked[0].character_id]
    if question and len(ranked) > 1 and settings.max_speakers > 1:
        runner_up = ranked[1]
        if rng.random() < settings.second_speaker * (0.5 + runner_up.talkativeness):
            speakers.append(runner_up.character_id)
    return Decision(tuple(speakers), scores, reasons, tr("en", "why.note.best_fit_question" if question else "why.note.best_fit"))


def chain_continues(step: int, settings: SchedulerSettings, rng: random.Random) -> bool:
    """Whether NPC reaction number ``step`` (0-based) happens: decaying chance, hard cap."""
    if step >= settings.chain_cap:
        return False
    return rng.random() < settings.chain_base * (settings.chain_decay**step)


def choose_reactor(
    candidates: Sequence[Candidate], *, last_speaker: str, line_words: frozenset[str], rng: random.Random,
    table: TableRules = LIVELY,
) -> Decision:
    """Who reacts to an NPC's line: someone it named first; else the best other; the speaker itself rarely.

    Only characters the table's rules allow react (``mentioned``: those the line named; ``manual``: nobody).
    """
    candidates = [c for c in candidates if table.may_answer(c)]
    if not candidates:
        return Decision((), note=tr("en", "why.note.nobody_reacts"))
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for candidate in candidates:
        value, why = score(candidate, question=False, line_words=line_words, rng=rng)
        if candidate.character_id == last_speaker:
            value -= 1.0
            why.append(tr("en", "why.reason.continuing"))
        scores[candidate.character_id], reasons[candidate.character_id] = round(value, 4), why
    best = max(candidates, key=lambda c: scores[c.character_id])
    return Decision((best.character_id,), scores, reasons, tr("en", "why.note.reaction", who=last_speaker))
