"""Pacing learned from the table: infer the players' pace from how they play, and what it changes.

Players rarely say whether they want a slow burn or a fast plot; they show it. Four signals, each a number
in [-1, 1] (negative: slow, positive: fast) with a reason a person can read in ``/pacing`` and ``/why``:

- **line length**: long, descriptive lines linger in the moment; a few words at a time push on.
- **time between lines**: quick replies keep a fast rhythm; minutes between lines mean a considered one.
- **regenerations**: a table that regenerates often is curating its moments, so slow down and take care;
  and where it regenerates tells the length it wants (it keeps the shorter alternatives, or the longer).
- **hooks**: players who follow the director's plot hooks want plot; players who ignore them want to stay.

The pace steers three things: the reply length target (``length_factor``, and a nudge from what players keep),
the chance that another character reacts (``chain_factor``: a fast table wants the floor back, a slow one lets
the cast talk), and how many quiet turns pass before the director offers a hook (``hook_after``). An admin can
pin a pace; a pinned pace ignores the signals. Everything here is pure: observations in, a ``Pace`` out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Literal

PaceLabel = Literal["slow", "steady", "fast"]
LABELS: tuple[PaceLabel, ...] = ("slow", "steady", "fast")

MIN_LINES = 4  # fewer user lines than this: too early to tell, the pace stays steady
RECENT_LINES = 12
SESSION_GAP = 3600.0  # a longer gap is a break between sessions, not a rhythm
WEIGHTS = {"length": 0.35, "gap": 0.25, "regenerate": 0.2, "hooks": 0.2}
THRESHOLD = 0.3
BASE_HOOK_AFTER = 8

STEERING: dict[PaceLabel, tuple[float, float, int]] = {
    # label: (length_factor, chain_factor, hook_after)
    "slow": (1.3, 1.3, 12),
    "steady": (1.0, 1.0, BASE_HOOK_AFTER),
    "fast": (0.7, 0.6, 5),
}


@dataclass(frozen=True, slots=True)
class UserLine:
    """A line a player wrote: when (seconds on any clock) and how long (words, CJK characters one each)."""

    at: float
    words: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class NpcLine:
    """An NPC line and its alternatives: how many there were, and the length of the kept one and the others."""

    alternatives: int
    kept_words: int
    other_words: tuple[int, ...] = ()
    after_hook: bool = False


@dataclass(frozen=True, slots=True)
class HookOffer:
    """A plot hook the director handed a speaker, and whether the players' next line took it up."""

    text: str
    followed: bool


@dataclass(frozen=True, slots=True)
class Observations:
    user_lines: tuple[UserLine, ...] = ()
    npc_lines: tuple[NpcLine, ...] = ()
    hooks: tuple[HookOffer, ...] = ()


@dataclass(frozen=True, slots=True)
class Pace:
    """What was inferred, why, and what it changes."""

    label: PaceLabel
    score: float
    reasons: tuple[str, ...]
    length_factor: float
    chain_factor: float
    hook_after: int
    pinned: bool = False
    signals: dict[str, float] = field(default_factory=dict)

    def steer_length(self, low: int, high: int) -> tuple[int, int]:
        """The reply length target under this pace (never below one)."""
        if self.length_factor == 1.0:
            return low, high
        return max(1, round(low * self.length_factor)), max(1, round(high * self.length_factor))

    def describe(self, lang: str = "en") -> str:
        """Two or three lines for ``/pacing`` and ``/why``, in the world's language.

        The per-signal reasons are English sentences; other languages show the estimate and its effect only."""
        from bot.i18n import tr

        how = tr(lang, "pacing.pinned") if self.pinned else tr(lang, "pacing.inferred", score=f"{self.score:+.2f}")
        lines = [tr(lang, "pacing.head", label=tr(lang, f"pacing.{self.label}"), how=how)]
        if lang == "en":
            lines += [f"- {r}" for r in self.reasons]
        lines.append(
            tr(lang, "pacing.effect", length=f"{self.length_factor:.2f}", chain=f"{self.chain_factor:.2f}", hook=self.hook_after)
        )
        return "\n".join(lines)


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))


def length_signal(lines: Sequence[UserLine]) -> tuple[float, str] | None:
    words = [line.words for line in lines[-RECENT_LINES:]]
    if len(words) < MIN_LINES:
        return None
    typical = median(words)
    value = _clamp((18 - typical) / 14)
    kind = "short" if value > 0.2 else "long" if value < -0.2 else "medium-length"
    return value, f"{kind} lines (median {typical:g} words)"


def gap_signal(lines: Sequence[UserLine]) -> tuple[float, str] | None:
    recent = lines[-RECENT_LINES:]
    gaps = [b.at - a.at for a, b in zip(recent, recent[1:], strict=False) if 0 < b.at - a.at <= SESSION_GAP]
    if len(gaps) < MIN_LINES - 1:
        return None
    typical = median(gaps)
    value = _clamp(1 - 2 * (math.log(max(typical, 1.0)) - math.log(20)) / (math.log(240) - math.log(20)))
    kind = "quick" if value > 0.2 else "slow" if value < -0.2 else "even"
    return value, f"{kind} replies (median {typical:.0f} s between lines)"


def regenerate_signal(npc: Sequence[NpcLine]) -> tuple[float, str, float] | None:
    """The signal, its reason, and the length the players prefer (kept / other alternatives, 1 = no preference)."""
    if len(npc) < MIN_LINES:
        return None
    swiped = [n for n in npc if n.alternatives > 1]
    rate = len(swiped) / len(npc)
    value = -_clamp(rate / 0.3) if rate else 0.3
    reason = f"regenerated {len(swiped)} of {len(npc)} replies"
    ratios = [n.kept_words / (sum(n.other_words) / len(n.other_words)) for n in swiped if n.other_words and sum(n.other_words)]
    preference = 1.0
    if len(ratios) >= 2:
        preference = max(0.7, min(1.3, median(ratios)))
        if preference < 0.9:
            reason += ", keeping the shorter alternatives"
        elif preference > 1.1:
            reason += ", keeping the longer alternatives"
    pivots = sum(1 for n in swiped if n.after_hook)
    if pivots:
        reason += f" ({pivots} right after a plot hook)"
    return value, reason, preference


def hook_signal(hooks: Sequence[HookOffer]) -> tuple[float, str] | None:
    if len(hooks) < 2:
        return None
    followed = sum(1 for h in hooks if h.followed)
    share = followed / len(hooks)
    return _clamp((share - 0.4) / 0.3), f"followed {followed} of {len(hooks)} plot hooks"


def infer_pace(observations: Observations, pinned: PaceLabel | None = None) -> Pace:
    """The table's pace from what it did (or the pinned one), with reasons and the steering it implies."""
    if pinned is not None:
        length, chain, hooks = STEERING[pinned]
        return Pace(pinned, 0.0, ("an admin pinned this pace; behaviour is not read",), length, chain, hooks, True)
    signals: dict[str, float] = {}
    reasons: list[str] = []
    preference = 1.0
    for name, result in (
        ("length", length_signal(observations.user_lines)),
        ("gap", gap_signal(observations.user_lines)),
        ("hooks", hook_signal(observations.hooks)),
    ):
        if result is not None:
            signals[name], reason = result
            reasons.append(reason)
    regen = regenerate_signal(observations.npc_lines)
    if regen is not None:
        signals["regenerate"], reason, preference = regen
        reasons.append(reason)
    if len(observations.user_lines) < MIN_LINES or not signals:
        return Pace("steady", 0.0, (f"too early to tell ({len(observations.user_lines)} lines so far)",),
                    1.0, 1.0, BASE_HOOK_AFTER, signals=signals)
    weight = sum(WEIGHTS[n] for n in signals)
    score = round(sum(WEIGHTS[n] * v for n, v in signals.items()) / weight, 3)
    label: PaceLabel = "fast" if score >= THRESHOLD else "slow" if score <= -THRESHOLD else "steady"
    length, chain, hook_after = STEERING[label]
    if "hooks" in signals and signals["hooks"] <= -0.5:
        hook_after += 4  # hooks keep being ignored: offer fewer
    return Pace(label, score, tuple(reasons), round(length * preference, 2), chain, hook_after, signals=signals)


def followed_hook(hook: str, next_user_line: str) -> bool:
    """Whether the players' next line takes up a hook: it shares a content word (four letters, or two CJK characters)."""
    def words(text: str) -> set[str]:
        latin = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}
        cjk = "".join(re.findall(r"[\u4e00-\u9fff]", text))
        return latin | {cjk[i : i + 2] for i in range(len(cjk) - 1)}

    stop = {"that", "this", "with", "from", "they", "have", "what", "there", "their", "about", "into", "your"}
    return bool((words(hook) - stop) & words(next_user_line))
