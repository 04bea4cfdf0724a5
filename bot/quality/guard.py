"""Run-time guards: what to do about each finding (repair, regenerate once, or accept and count).

``decide`` is pure: findings + policy -> the action, the repaired text and, for a regeneration, a short
corrective instruction. ``guard_reply`` wraps it around one reply and is the only place that asks the
model again, **at most once**; whatever the second reply still has is repaired or accepted. So a
guarded reply never costs more than one extra model call.

Repairs only cut or rewrite the spans the detectors marked, then rebalance quotes and asterisks and
tidy the seams. A repair counts only when the rest still stands as a reply: it keeps enough words and
the same detectors find nothing more to cut; otherwise the policy's ``if_repair_fails`` applies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.quality import language
from bot.quality.detect import detect_all
from bot.quality.detectors import formatting
from bot.quality.findings import DETECTORS, SEVERITY_RANK, DetectorName, Finding, ReplyContext, Severity
from bot.quality.text import has_letters, word_count

Action = Literal["repair", "regenerate", "accept"]
Fallback = Literal["regenerate", "accept"]

log = structlog.get_logger("bot.quality.guard")

DEFAULT_IF_REPAIR_FAILS: dict[str, Fallback] = {
    "speaks_for_user": "regenerate",
    "speaks_as_other": "regenerate",
    "repetition": "regenerate",
    "mixed_language": "regenerate",
    "assistant_voice": "regenerate",
    "length": "accept",
    "silence": "accept",
    "formatting": "regenerate",
}

# Repairs are tried family by family in this order; a family whose repair spoils the reply is skipped.
REPAIR_ORDER: tuple[DetectorName, ...] = (
    "formatting",
    "speaks_as_other",
    "speaks_for_user",
    "assistant_voice",
    "repetition",
    "mixed_language",
    "length",
    "silence",
)


class GuardPolicy(BaseModel):
    """Per-world guard policy: one action per detector family, with defaults a user would choose.

    ``repair`` cuts or rewrites the offending span; when that is impossible or leaves no valid reply,
    ``if_repair_fails`` says whether to regenerate or accept. ``regenerate`` asks the model once more
    with a corrective instruction (after the one regeneration: repair if possible, else accept).
    ``accept`` keeps the reply and only counts the finding. Findings below ``act_on`` are accepted.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    speaks_for_user: Action = "repair"
    speaks_as_other: Action = "repair"
    assistant_voice: Action = "regenerate"
    formatting: Action = "repair"
    repetition: Action = "regenerate"
    mixed_language: Action = "regenerate"
    length: Action = "repair"
    silence: Action = "accept"
    if_repair_fails: dict[DetectorName, Fallback] = Field(
        default_factory=lambda: dict(DEFAULT_IF_REPAIR_FAILS)
    )
    act_on: Severity = "medium"
    allow_regenerate: bool = True
    repair_min_words: int = Field(3, ge=1, le=1000)

    @field_validator("if_repair_fails", mode="after")
    @classmethod
    def _complete(cls, value: dict[str, Fallback]) -> dict[str, Fallback]:
        return {**DEFAULT_IF_REPAIR_FAILS, **value}

    def action_for(self, finding: Finding) -> Action:
        if SEVERITY_RANK[finding.severity] < SEVERITY_RANK[self.act_on]:
            return "accept"
        return getattr(self, finding.detector)

    def fallback_for(self, detector: str) -> Fallback:
        return self.if_repair_fails.get(detector, DEFAULT_IF_REPAIR_FAILS.get(detector, "accept"))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """What to do with one reply: ``text`` is the reply to use unless ``action`` is "regenerate"
    (then it is the best repair of this reply, a fallback should the regeneration fail)."""

    action: Action
    text: str
    instruction: str | None
    findings: tuple[Finding, ...]
    actions: tuple[Action, ...]  # the final action per finding, parallel to ``findings``

    @property
    def changed(self) -> bool:
        return self.action == "repair"


@dataclass(frozen=True, slots=True)
class GuardOutcome:
    """The guarded reply and how it came about."""

    text: str
    action: Action
    regenerated: bool
    extra_calls: int
    instruction: str | None
    first_findings: tuple[Finding, ...]
    final_findings: tuple[Finding, ...]  # what the returned text still has (accepted findings)
    decisions: tuple[GuardDecision, ...]


_COUNTERS = ("found", "repaired", "regenerated", "accepted")
_ACTION_COUNTER = {"repair": "repaired", "regenerate": "regenerated", "accept": "accepted"}


@dataclass
class GuardStats:
    """Counters per detector (found / repaired / regenerated / accepted) plus per-reply totals."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {d: dict.fromkeys(_COUNTERS, 0) for d in DETECTORS}
    )
    replies: int = 0
    regenerations: int = 0
    regeneration_failures: int = 0

    def count(self, detector: str, counter: str, n: int = 1) -> None:
        self.counts.setdefault(detector, dict.fromkeys(_COUNTERS, 0))[counter] += n

    def record(self, findings: Sequence[Finding], actions: Sequence[Action]) -> None:
        for finding, action in zip(findings, actions, strict=True):
            self.count(finding.detector, "found")
            self.count(finding.detector, _ACTION_COUNTER[action])

    def merge(self, other: GuardStats) -> None:
        for detector, counters in other.counts.items():
            for name, n in counters.items():
                self.count(detector, name, n)
        self.replies += other.replies
        self.regenerations += other.regenerations
        self.regeneration_failures += other.regeneration_failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "replies": self.replies,
            "regenerations": self.regenerations,
            "regeneration_failures": self.regeneration_failures,
            "detectors": {d: dict(c) for d, c in self.counts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardStats:
        stats = cls()
        stats.replies = int(data.get("replies", 0))
        stats.regenerations = int(data.get("regenerations", 0))
        stats.regeneration_failures = int(data.get("regeneration_failures", 0))
        for detector, counters in (data.get("detectors") or {}).items():
            for name in _COUNTERS:
                stats.count(detector, name, int(counters.get(name, 0)))
        return stats


# --- repair -------------------------------------------------------------------------------------


def repair(reply: str, findings: Iterable[Finding]) -> str | None:
    """Apply the findings' edits (cuts and rewrites), rebalance, tidy; None when nothing valid remains."""
    edits = sorted((f.start, f.end, f.replacement) for f in findings if f.replacement is not None)
    if not edits:
        return reply if has_letters(reply) else None
    merged: list[tuple[int, int, str]] = []
    for start, end, rep in edits:
        if merged and start < merged[-1][1]:
            p_start, p_end, p_rep = merged[-1]
            if p_rep == "" or rep == "":
                merged[-1] = (p_start, max(p_end, end), "")
            continue  # two rewrites of one place: keep the first; the rebalance pass below mends the rest
        merged.append((start, end, rep))
    pieces: list[str] = []
    pos = 0
    for start, end, rep in merged:
        left = reply[pos:start]
        pieces.append(left)
        if rep == "":
            pieces.append(_SEAM)
        else:
            pieces.append(rep)
        pos = end
    pieces.append(reply[pos:])
    text = _tidy("".join(pieces))
    text = _rebalance(text)
    if not has_letters(text) or word_count(text) == 0:
        return None
    return text


_SEAM = "\x01"


def _tidy(text: str) -> str:
    """Close the seams left by cuts: no dangling comma before the sentence end, one space between words."""
    seam = _SEAM
    text = re.sub(rf"[ \t]*{seam}+[ \t]*", seam, text)
    text = re.sub(rf"^{seam}\s*[,，、;；]*\s*", "", text)
    text = re.sub(rf"[,，、;；:：—–-]\s*{seam}(?=[.!?。！？…])", "", text)
    text = re.sub(rf"{seam}(?=[.!?。！？…,，])", "", text)
    text = re.sub(rf"(?<=\S){seam}(?=\S)", _join, text)
    text = text.replace(seam, "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _join(m: re.Match[str]) -> str:
    """A space between the pieces, except where CJK text meets CJK text or punctuation."""
    text = m.string
    left, right = text[m.start() - 1], text[m.end()]
    return "" if _is_cjk_side(left) and _is_cjk_side(right) else " "


def _is_cjk_side(ch: str) -> bool:
    return ch >= "\u2e80" or ch in "“”「」『』"


def _rebalance(text: str) -> str:
    fixes = [
        f
        for f in formatting.detect(text, ReplyContext())
        if f.replacement is not None
        and f.code in ("unbalanced_quotes", "unbalanced_asterisks", "markup", "garbled")
    ]
    if not fixes:
        return text
    out = []
    pos = 0
    for f in sorted(fixes, key=lambda f: f.start):
        if f.start < pos:
            continue
        out.append(text[pos : f.start])
        out.append(f.replacement or "")
        pos = f.end
    out.append(text[pos:])
    return _tidy("".join(out))


# --- decide -------------------------------------------------------------------------------------


def decide(
    findings: Sequence[Finding],
    policy: GuardPolicy,
    already_regenerated: bool = False,
    *,
    reply: str,
    ctx: ReplyContext,
) -> GuardDecision:
    """The action for one reply with these findings.

    Per finding the policy's action applies, except that a regeneration already spent (or disallowed)
    turns "regenerate" into "repair" where the finding can be repaired and "accept" where it cannot,
    and a repair that cannot be done or spoils the reply falls back to ``if_repair_fails``.
    """
    findings = tuple(findings)
    can_regen = policy.allow_regenerate and not already_regenerated
    planned: list[Action] = []
    for f in findings:
        action = policy.action_for(f)
        if action == "regenerate" and not can_regen:
            action = "repair" if f.repairable else "accept"
        if action == "repair" and not f.repairable:
            action = _fallback(policy, f.detector, can_regen)
        planned.append(action)

    text = reply
    for family in REPAIR_ORDER:
        idx = [i for i, f in enumerate(findings) if f.detector == family and planned[i] == "repair"]
        if not idx:
            continue
        candidate = _repair_family(text, reply, findings, idx, ctx)
        if candidate is not None and _valid(candidate, family, ctx, policy, can_regen):
            text = candidate
            continue
        for i in idx:
            planned[i] = _fallback(policy, family, can_regen)

    if "regenerate" in planned:
        wanted = [f for f, a in zip(findings, planned, strict=True) if a != "accept"]
        return GuardDecision(
            "regenerate", text, corrective_instruction(wanted, ctx), findings, tuple(planned)
        )
    if "repair" in planned:
        return GuardDecision("repair", text, None, findings, tuple(planned))
    return GuardDecision("accept", reply, None, findings, tuple(planned))


def _fallback(policy: GuardPolicy, detector: str, can_regen: bool) -> Action:
    fallback = policy.fallback_for(detector)
    return "regenerate" if fallback == "regenerate" and can_regen else "accept"


def _repair_family(
    text: str, reply: str, findings: Sequence[Finding], idx: list[int], ctx: ReplyContext
) -> str | None:
    """Repair one family on top of earlier repairs (spans refer to ``reply``, so re-detect on ``text``)."""
    if text == reply:
        return repair(reply, [findings[i] for i in idx])
    family = findings[idx[0]].detector
    codes = {findings[i].code for i in idx}
    fresh = [f for f in detect_all(text, ctx, only=[family]) if f.repairable and f.code in codes]
    return repair(text, fresh) if fresh else text


def _valid(candidate: str, family: str, ctx: ReplyContext, policy: GuardPolicy, can_regen: bool) -> bool:
    words = word_count(candidate)
    floor = policy.repair_min_words
    if can_regen:
        floor = max(floor, math.ceil(ctx.min_words / 2))
    if words < floor:
        return False
    remaining = [
        f
        for f in detect_all(candidate, ctx, only=[family])
        if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[policy.act_on] and f.repairable
    ]
    return not remaining


_INSTRUCTIONS_EN = {
    "speaks_for_user": "Write only as {npc}; do not describe what {user} does, says, thinks or feels.",
    "speaks_as_other": "Write only {npc}'s own words and actions; no lines or name headers for other characters.",
    "assistant_voice": "Stay in character as {npc}: no disclaimers, notes or talk about being an AI or about rules.",
    "repetition": "Do not repeat earlier lines or phrasing; move the scene forward with something new.",
    "mixed_language": "Write the whole reply in {language}, apart from names.",
    "formatting": "Plain role-play prose: balanced quotes and asterisks, no tags, no reasoning, no name headers.",
    "too_long": "Keep the reply under {max_words} words.",
    "too_short": "Write at least {min_words} words.",
    "silence": "Give {npc} at least one line of dialogue or something that invites {user} to respond.",
}
_INSTRUCTIONS_ZH = {
    "speaks_for_user": "只以{npc}的身份写；不要描写{user}的动作、话语、想法或感受。",
    "speaks_as_other": "只写{npc}自己的话和动作；不要替其他角色说话，不要加名字标题。",
    "assistant_voice": "保持{npc}的角色：不要免责声明、备注，不要谈论AI或规则。",
    "repetition": "不要重复之前的句子或说法；用新的内容推动情节。",
    "mixed_language": "整段回复使用{language}，人名除外。",
    "formatting": "使用正常的角色扮演文本：引号和星号成对，不要标签、推理过程或名字标题。",
    "too_long": "回复不超过{max_words}字。",
    "too_short": "回复至少{min_words}字。",
    "silence": "让{npc}至少说一句话，或留下让{user}回应的话头。",
}
_ZH_LANGUAGE = {
    "zh": "中文",
    "en": "英文",
    "ja": "日文",
    "ko": "韩文",
    "fr": "法文",
    "de": "德文",
    "es": "西班牙文",
    "ru": "俄文",
}


def corrective_instruction(findings: Iterable[Finding], ctx: ReplyContext) -> str:
    """One short instruction covering the given findings, in the scene's language (en or zh)."""
    zh = ctx.language == "zh"
    table = _INSTRUCTIONS_ZH if zh else _INSTRUCTIONS_EN
    keys: list[str] = []
    for f in findings:
        key = f.code if f.detector == "length" and f.code in ("too_long", "too_short") else f.detector
        if key in table and key not in keys:
            keys.append(key)
    values = {
        "npc": ctx.npc_label,
        "user": ctx.user_label,
        "language": _ZH_LANGUAGE.get(ctx.language, ctx.language)
        if zh
        else language.language_name(ctx.language),
        "min_words": ctx.min_words,
        "max_words": ctx.max_words,
    }
    return ("" if zh else " ").join(table[k].format(**values) for k in keys)


# --- the one place that calls the model again ------------------------------------------------------

_SEVERITY_WEIGHT = {"low": 1, "medium": 3, "high": 9}


def _residual(decision: GuardDecision) -> int:
    return sum(
        _SEVERITY_WEIGHT[f.severity]
        for f, a in zip(decision.findings, decision.actions, strict=True)
        if a == "accept"
    )


async def guard_reply(
    first_reply: str,
    ctx: ReplyContext,
    policy: GuardPolicy | None = None,
    regenerate: Callable[[str], Awaitable[str]] | None = None,
    *,
    stats: GuardStats | None = None,
) -> GuardOutcome:
    """Guard one reply: detect, then repair, regenerate **at most once** (``regenerate(instruction)``), or accept.

    After a regeneration the second reply is repaired or accepted as it stands, never regenerated
    again; if it is worse than the first (after repair) the repaired first reply is kept. If the
    callback raises, the first reply is repaired or accepted instead.
    """
    policy = policy or GuardPolicy()
    first = detect_all(first_reply, ctx)
    d1 = decide(first, policy, regenerate is None, reply=first_reply, ctx=ctx)
    decisions = [d1]
    if d1.action != "regenerate" or regenerate is None:
        outcome = _finish(d1, d1, first, ctx, decisions, regenerated=False, calls=0)
        _record(stats, outcome, [(d1.findings, d1.actions)])
        return outcome

    fallback = decide(first, policy, True, reply=first_reply, ctx=ctx)
    try:
        second_reply = await regenerate(d1.instruction or "")
    except Exception as exc:  # the model failed: keep what we have
        log.warning("quality.regenerate_failed", npc=ctx.npc_name, error=type(exc).__name__)
        decisions.append(fallback)
        outcome = _finish(fallback, d1, first, ctx, decisions, regenerated=False, calls=1)
        if stats is not None:
            stats.regeneration_failures += 1
        _record(stats, outcome, [(fallback.findings, fallback.actions)])
        return outcome

    second = detect_all(second_reply, ctx)
    d2 = decide(second, policy, True, reply=second_reply, ctx=ctx)
    decisions.append(d2)
    if _residual(d2) <= _residual(fallback):
        regen_actions: tuple[Action, ...] = tuple("regenerate" for _ in d1.findings)
        outcome = _finish(d2, d1, first, ctx, decisions, regenerated=True, calls=1)
        _record(stats, outcome, [(d1.findings, regen_actions), (d2.findings, d2.actions)])
    else:
        decisions.append(fallback)
        outcome = _finish(fallback, d1, first, ctx, decisions, regenerated=False, calls=1)
        _record(
            stats,
            outcome,
            [(fallback.findings, fallback.actions), (d2.findings, ("accept",) * len(d2.findings))],
        )
    return outcome


def _finish(
    final: GuardDecision,
    d1: GuardDecision,
    first: Sequence[Finding],
    ctx: ReplyContext,
    decisions: list[GuardDecision],
    *,
    regenerated: bool,
    calls: int,
) -> GuardOutcome:
    action: Action = "regenerate" if regenerated else final.action
    remaining = tuple(f for f, a in zip(final.findings, final.actions, strict=True) if a == "accept")
    return GuardOutcome(
        text=final.text,
        action=action,
        regenerated=regenerated,
        extra_calls=calls,
        instruction=d1.instruction if calls else None,
        first_findings=tuple(first),
        final_findings=remaining,
        decisions=tuple(decisions),
    )


def _record(
    stats: GuardStats | None,
    outcome: GuardOutcome,
    parts: list[tuple[Sequence[Finding], Sequence[Action]]],
) -> None:
    if stats is not None:
        stats.replies += 1
        stats.regenerations += outcome.extra_calls
        for findings, actions in parts:
            stats.record(findings, actions)
    if outcome.first_findings or outcome.extra_calls:
        counts: dict[str, int] = {}
        for f in outcome.first_findings:
            counts[f.detector] = counts.get(f.detector, 0) + 1
        log.info(
            "quality.guard",
            action=outcome.action,
            findings=counts,
            remaining=len(outcome.final_findings),
            extra_calls=outcome.extra_calls,
        )
