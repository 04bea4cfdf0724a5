"""What an evaluation run records: lines, turns, judged chunks and one job's checkpoint (JSON via pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

System = Literal["ensemble", "baseline"]
SYSTEMS: tuple[System, ...] = ("ensemble", "baseline")
STATE_VERSION = 1


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Line(_Record):
    """One line of a story: the user's, an NPC's, or the narrator's."""

    kind: Literal["user", "npc", "narration"]
    speaker: str
    text: str


class Turn(_Record):
    """One user turn: the user's line and everything the system under test answered to it."""

    turn: int = Field(ge=1)
    user: Line
    replies: list[Line] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def npc_replies(self) -> list[Line]:
        return [r for r in self.replies if r.kind == "npc"]


class JudgeFindingRecord(_Record):
    quote: str
    problem: str
    quote_found: bool = False


class DimensionResult(_Record):
    """The judge's verdict on one dimension of one chunk; ``unscored`` carries the error, never a score."""

    status: Literal["scored", "unscored"]
    score: float | None = None
    findings: list[JudgeFindingRecord] = Field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    retryable: bool = False


class ChunkResult(_Record):
    """One chunk of turns (``start``..``end``, 1-based, inclusive) with a verdict per dimension."""

    index: int
    start: int
    end: int
    dimensions: dict[str, DimensionResult] = Field(default_factory=dict)


class JobState(_Record):
    """One (scenario, system, run) job: its checkpoint, rewritten atomically after every turn."""

    version: int = STATE_VERSION
    job: str
    scenario: str
    system: System
    run: int
    setup: list[Line] = Field(default_factory=list)
    turns: list[Turn] = Field(default_factory=list)
    chunks: dict[str, ChunkResult] = Field(default_factory=dict)
    error: str | None = None
