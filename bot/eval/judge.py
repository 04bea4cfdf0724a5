"""The judge: one rubric per dimension, the NPC side scored on chunks of 20 turns, validated JSON.

For each chunk and dimension the judge model gets the rubric (a Markdown file in ``bot/eval/rubrics``) as
its system prompt and the chunk as the user message, and must answer
``{"findings": [{"quote": str, "problem": str}], "score": 0-100}``. An answer that does not parse or
validate is asked for once more with a short reminder; a second failure leaves the chunk ``unscored``
with the error. The judge never crashes the run and a score is never invented.

Overall = 50% Worlds + 25% Stories + 25% Preferences, where Worlds = mean(basics, logic, knowledge),
Stories = mean(diversity, content_logic) and Preferences = interaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.ports import ChatMessage, ChatModel, ChatOptions
from bot.errors import ConfigError, ModelUnavailable
from bot.eval.records import DimensionResult, JudgeFindingRecord, Line, Turn
from bot.eval.scenarios import Scenario

CHUNK_TURNS = 20
CONTEXT_TURNS = 3
DIMENSIONS: tuple[str, ...] = (
    "worlds_basics",
    "worlds_logic",
    "worlds_knowledge",
    "stories_diversity",
    "stories_content_logic",
    "preferences_interaction",
)
CATEGORIES: dict[str, tuple[str, ...]] = {
    "worlds": ("worlds_basics", "worlds_logic", "worlds_knowledge"),
    "stories": ("stories_diversity", "stories_content_logic"),
    "preferences": ("preferences_interaction",),
}
WEIGHTS: dict[str, float] = {"worlds": 0.5, "stories": 0.25, "preferences": 0.25}
REMINDER = (
    'Your answer was not valid. Return only the JSON object {"findings": [{"quote": "...", "problem": "..."}], '
    '"score": <integer 0-100>} and nothing else: no prose, no code fence.'
)
RUBRIC_PACKAGE = "bot.eval"
RUBRIC_FOLDER = "rubrics"


class Verdict(BaseModel):
    """The judge's answer for one dimension of one chunk."""

    model_config = ConfigDict(extra="ignore")

    class Finding(BaseModel):
        model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

        quote: str = Field(min_length=1)
        problem: str = Field(min_length=1)

    findings: list[Finding]
    score: float = Field(ge=0, le=100)


class VerdictError(ValueError):
    """The judge's answer is not the JSON the rubric asks for; the message says why, briefly."""


# --- rubrics ------------------------------------------------------------------------------------------


def load_rubrics(directory: str | Path | None = None) -> dict[str, str]:
    """Every dimension's rubric text, from ``directory`` or the packaged ``bot/eval/rubrics``."""
    rubrics: dict[str, str] = {}
    for dimension in DIMENSIONS:
        name = f"{dimension}.md"
        try:
            if directory is not None:
                text = (Path(directory) / name).read_text(encoding="utf-8")
            else:
                text = resources.files(RUBRIC_PACKAGE).joinpath(RUBRIC_FOLDER, name).read_text(encoding="utf-8")
        except (FileNotFoundError, OSError):
            where = Path(directory) / name if directory is not None else f"bot/eval/{RUBRIC_FOLDER}/{name}"
            raise ConfigError(f"The judge rubric {where} is missing.") from None
        if not text.strip():
            raise ConfigError(f"The judge rubric {name} is empty.")
        rubrics[dimension] = text.strip()
    return rubrics


# --- parsing ------------------------------------------------------------------------------------------


def parse_verdict(text: str) -> Verdict:
    """The verdict in ``text`` (a code fence or a sentence around the object is tolerated)."""
    body = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", body, re.S)
    if fenced:
        body = fenced.group(1).strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise VerdictError("no JSON object in the answer")
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        raise VerdictError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    try:
        return Verdict.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(object)"
        raise VerdictError(f"{where}: {first.get('msg', 'invalid')}") from None


# --- chunks -------------------------------------------------------------------------------------------


def chunk_ranges(turns: int, size: int = CHUNK_TURNS) -> list[tuple[int, int]]:
    """``[(1, 20), (21, 40), ...]`` covering ``turns`` turns; the last chunk may be shorter."""
    return [(start, min(start + size - 1, turns)) for start in range(1, turns + 1, size)]


def _render_line(line: Line) -> str:
    if line.kind == "user":
        return f"[USER] {line.speaker}: {line.text}"
    if line.kind == "narration":
        return f"[NARRATOR] {line.speaker}: {line.text}"
    return f"[NPC] {line.speaker}: {line.text}"


def _render_turn(turn: Turn) -> str:
    lines = [f"Turn {turn.turn}", _render_line(turn.user)]
    if turn.replies:
        lines.extend(_render_line(r) for r in turn.replies)
    else:
        lines.append("(no reply from the NPC side)")
    return "\n".join(lines)


def chunk_prompt(scenario: Scenario, setup: Sequence[Line], turns: Sequence[Turn], start: int, end: int) -> str:
    """The user message for one chunk: the setup, a little earlier context, and the turns to score."""
    world = scenario.world
    cast = "\n".join(f"- {c.name}: {c.description.strip()} Personality: {c.personality.strip()}" for c in scenario.cards or scenario.cast)
    rules = "\n".join(f"- {r}" for r in world.rules) or "- (none beyond the setting)"
    parts = [
        "# Setup",
        f"World: {world.name}. {world.description.strip()}",
        f"Rules of the world:\n{rules}",
        f"Characters on the NPC side:\n{cast}",
        f"The user's character: {scenario.user_name}: {scenario.user_persona.strip()}",
    ]
    earlier = [t for t in turns if t.turn < start][-CONTEXT_TURNS:]
    opening = list(setup) if start == 1 or not earlier else []
    if opening or earlier:
        parts.append("# Earlier in the story (context only; do not score)")
        parts.extend(_render_line(line) for line in opening)
        parts.extend(_render_turn(t) for t in earlier)
    parts.append(f"# Transcript to score: turns {start} to {end}")
    parts.extend(_render_turn(t) for t in turns if start <= t.turn <= end)
    parts.append(
        "Score only the [NPC] and [NARRATOR] lines of turns "
        f"{start} to {end}. Quote them exactly, in their original language. Answer with the JSON object only."
    )
    return "\n\n".join(parts)


def _normal(text: str) -> str:
    return " ".join(text.replace("*", "").split()).casefold()


def quote_found(quote: str, npc_texts: Sequence[str]) -> bool:
    """Whether a finding's quote is really in the scored lines (whitespace, case and asterisks ignored)."""
    wanted = _normal(quote.strip().strip('"“”「」'))
    return bool(wanted) and any(wanted in _normal(t) for t in npc_texts)


# --- the judge ----------------------------------------------------------------------------------------


class Judge:
    """Asks the judge model for one dimension of one chunk at a time."""

    def __init__(self, model: ChatModel, rubrics: Mapping[str, str], *, max_tokens: int = 1500) -> None:
        missing = [d for d in DIMENSIONS if d not in rubrics]
        if missing:
            raise ConfigError(f"No judge rubric for {', '.join(missing)}.")
        self.model = model
        self.rubrics = dict(rubrics)
        self.options = ChatOptions(max_tokens=max_tokens, temperature=0.0, json_mode=True)

    async def judge(self, dimension: str, prompt: str, npc_texts: Sequence[str]) -> DimensionResult:
        """One dimension's verdict; every failure ends as ``unscored`` with the reason."""
        messages = [ChatMessage("system", self.rubrics[dimension]), ChatMessage("user", prompt)]
        attempts = 0
        error = ""
        for _ in range(2):
            attempts += 1
            try:
                result = await self.model.complete(messages, self.options)
            except ModelUnavailable as exc:
                return DimensionResult(
                    status="unscored", error=f"judge model unavailable: {exc}", attempts=attempts, retryable=True
                )
            try:
                verdict = parse_verdict(result.text)
            except VerdictError as exc:
                error = str(exc)
                messages = [*messages, ChatMessage("assistant", result.text), ChatMessage("user", REMINDER)]
                continue
            findings = [
                JudgeFindingRecord(quote=f.quote, problem=f.problem, quote_found=quote_found(f.quote, npc_texts))
                for f in verdict.findings
            ]
            return DimensionResult(status="scored", score=round(verdict.score, 2), findings=findings, attempts=attempts)
        return DimensionResult(status="unscored", error=f"invalid judge answer twice: {error}", attempts=attempts)


# --- scores -------------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def category_scores(dimension_scores: Mapping[str, float | None]) -> dict[str, float | None]:
    """Worlds, Stories, Preferences from the dimension scores present (``None`` when none is)."""
    return {
        category: _mean([s for d in dims if (s := dimension_scores.get(d)) is not None])
        for category, dims in CATEGORIES.items()
    }


def overall_score(dimension_scores: Mapping[str, float | None]) -> float | None:
    """50% Worlds + 25% Stories + 25% Preferences; ``None`` unless every category has a score."""
    categories = category_scores(dimension_scores)
    if any(v is None for v in categories.values()):
        return None
    return round(sum(WEIGHTS[c] * v for c, v in categories.items() if v is not None), 2)
