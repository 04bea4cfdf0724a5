"""Small ports through which the engine talks to the outside: a chat model and a clock.

The engine builds messages with M2-her's native roles (the richest shape); a backend for a model
without those roles folds them into the system prompt (see ``bot.model.roles``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

Role = Literal[
    "system",
    "user",
    "assistant",
    "user_system",
    "group",
    "sample_message_user",
    "sample_message_ai",
]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat request; ``name`` tells apart several speakers of the same role."""

    role: Role
    content: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage as the server reported it (zeros when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A finished completion, reasoning blocks already stripped."""

    text: str
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """Sampling options for one call; ``model`` overrides the backend's default (e.g. the narrator model)."""

    max_tokens: int = 400
    temperature: float = 0.9
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    model: str | None = None
    json_mode: bool = False


class ChatModel(Protocol):
    """What the engine needs from a language model."""

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        """Return one finished reply. Raises ``bot.errors.ModelUnavailable`` after bounded retries."""
        ...

    def stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> AsyncIterator[str]:
        """Yield visible text deltas (reasoning stripped). Raises ``ModelUnavailable`` like ``complete``."""
        ...


class Clock(Protocol):
    """Wall-clock time, injectable so that tests of timing are deterministic."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to; for tests, benchmarks and simulations."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._now = self._now + timedelta(seconds=seconds)


def monotonic() -> float:
    """Monotonic seconds, for measuring durations (never for story time)."""
    return time.perf_counter()
