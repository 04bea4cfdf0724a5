"""What the quality detectors look at (``ReplyContext``) and what they report (``Finding``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

DetectorName = Literal[
    "speaks_for_user",
    "speaks_as_other",
    "repetition",
    "mixed_language",
    "assistant_voice",
    "length",
    "silence",
    "formatting",
]

DETECTORS: tuple[DetectorName, ...] = (
    "speaks_for_user",
    "speaks_as_other",
    "repetition",
    "mixed_language",
    "assistant_voice",
    "length",
    "silence",
    "formatting",
)

Severity = Literal["low", "medium", "high"]
SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one reply.

    ``span`` is a half-open ``(start, end)`` range of character offsets into the reply text and
    ``excerpt`` is ``reply[start:end]`` (shortened for display). ``replacement`` is how a repair
    would rewrite that span: ``""`` cuts it, another string replaces it (e.g. a closing quote
    added), ``None`` means the problem cannot be repaired by editing the span.
    ``code`` names the variant within the detector family (``"second_person"``, ``"too_long"``...).
    """

    detector: DetectorName
    severity: Severity
    span: tuple[int, int]
    excerpt: str
    reason: str
    code: str = ""
    replacement: str | None = None

    @property
    def start(self) -> int:
        return self.span[0]

    @property
    def end(self) -> int:
        return self.span[1]

    @property
    def repairable(self) -> bool:
        return self.replacement is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the replacement is left out: it is a repair detail, not a finding)."""
        return {
            "detector": self.detector,
            "code": self.code,
            "severity": self.severity,
            "span": [self.span[0], self.span[1]],
            "excerpt": self.excerpt,
            "reason": self.reason,
        }


def make_finding(
    text: str,
    detector: DetectorName,
    severity: Severity,
    start: int,
    end: int,
    reason: str,
    *,
    code: str = "",
    replacement: str | None = None,
    excerpt_limit: int = 160,
) -> Finding:
    """A finding whose excerpt is cut from ``text`` (ellipsised in the middle past ``excerpt_limit``)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    excerpt = text[start:end]
    if len(excerpt) > excerpt_limit:
        half = excerpt_limit // 2 - 2
        excerpt = excerpt[:half] + " … " + excerpt[-half:]
    return Finding(
        detector=detector,
        severity=severity,
        span=(start, end),
        excerpt=excerpt,
        reason=reason,
        code=code,
        replacement=replacement,
    )


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """Everything a detector may know about the reply besides its text.

    - ``npc_name``/``npc_aliases``: who wrote the reply.
    - ``user_names``: the user's character name(s) (and display names) in this scene.
    - ``other_names``: other characters' names and aliases (not this NPC, not the user).
    - ``language``: the scene's language code ("en", "zh"; other ISO 639-1 codes work too).
    - ``npc_languages``: languages this character speaks on purpose (a bilingual character);
      passages in them are not mixed-language findings.
    - ``recent_replies``: this NPC's previous replies, oldest first (the last few are used).
    - ``min_words``/``max_words``: the world's target reply length (CJK characters count as words).
    - ``length_unit``: what the target counts, ``"words"`` (the default) or ``"chars"`` (characters
      other than whitespace: Chinese has no words, and Chinese targets are set in characters).
    - ``previous_lengths``: lengths (in ``length_unit``) of this NPC's earlier replies in the session,
      oldest first, for the length-drift check; ``None`` when unknown.
    """

    npc_name: str = ""
    npc_aliases: Sequence[str] = ()
    user_names: Sequence[str] = ()
    other_names: Sequence[str] = ()
    language: str = "en"
    recent_replies: Sequence[str] = ()
    min_words: int = 8
    max_words: int = 140
    previous_lengths: Sequence[int] | None = None
    npc_languages: Sequence[str] = ()
    length_unit: Literal["words", "chars"] = "words"

    # The name sets are asked for many times per reply by every detector; they are cached per input
    # tuple (a scene's names repeat reply after reply), so a reply pays for them once.
    @property
    def own_names(self) -> tuple[str, ...]:
        return _clean_names((self.npc_name, *self.npc_aliases))

    @property
    def users(self) -> tuple[str, ...]:
        return _clean_names(tuple(self.user_names))

    @property
    def others(self) -> tuple[str, ...]:
        return _others(self.own_names, self.users, tuple(self.other_names))

    @property
    def all_names(self) -> tuple[str, ...]:
        return _clean_names((*self.own_names, *self.users, *self.others))

    @property
    def user_label(self) -> str:
        """The name used in corrective instructions."""
        users = self.users
        return users[0] if users else ("用户" if self.language == "zh" else "the user")

    @property
    def npc_label(self) -> str:
        return self.npc_name.strip() or ("你的角色" if self.language == "zh" else "your character")


@lru_cache(maxsize=4096)
def _others(own: tuple[str, ...], users: tuple[str, ...], other_names: tuple[str, ...]) -> tuple[str, ...]:
    taken = {n.casefold() for n in own} | {n.casefold() for n in users}
    return tuple(n for n in _clean_names(other_names) if n.casefold() not in taken)


@lru_cache(maxsize=4096)
def _clean_names(names: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        name = (name or "").strip()
        if not name or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        out.append(name)
    # Longest first so that "Mira Vale" is matched before "Mira".
    return tuple(sorted(out, key=len, reverse=True))
