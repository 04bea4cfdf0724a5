"""Which model-call failures are worth retrying, and how long to wait: the tenacity policy."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

# Below this much time left an attempt cannot succeed, so the budget counts as spent.
MIN_ATTEMPT_SECONDS = 0.05
# Statuses the server may answer differently a moment later (same list as the openai SDK's own retries).
TRANSIENT_STATUSES = frozenset({408, 409, 429})


class BadResponse(Exception):
    """HTTP 200 whose body is unusable: malformed JSON, no choices, or no visible text."""


def retry_after_seconds(error: BaseException | None) -> float | None:
    """The server's requested wait (``retry-after-ms`` or ``Retry-After``, seconds or HTTP date)."""
    if not isinstance(error, openai.APIStatusError):
        return None
    headers = error.response.headers
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def is_transient(error: BaseException) -> bool:
    """True for failures a later attempt may not meet: rate limits, 5xx, timeouts, broken connections."""
    if isinstance(error, openai.APIStatusError):
        return error.status_code in TRANSIENT_STATUSES or error.status_code >= 500
    return isinstance(error, openai.APIConnectionError | TimeoutError | BadResponse)


def describe(error: BaseException) -> str:
    """A short, secret-free reason for logs (``http 429``, ``APITimeoutError``)."""
    if isinstance(error, openai.APIStatusError):
        return f"http {error.status_code}"
    if isinstance(error, BadResponse):
        return f"bad response: {error}"
    return type(error).__name__


@dataclass
class CallBudget:
    """Time and attempt limits of one logical call (all its retries)."""

    model: str
    deadline: float
    request_timeout: float
    clock: Callable[[], float]
    attempts: int = 0
    bad_responses: int = 0
    reasons: list[str] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def attempt_timeout(self) -> float:
        """The hard timeout of the next request: never past the call's deadline."""
        return max(MIN_ATTEMPT_SECONDS, min(self.request_timeout, self.remaining()))


@dataclass
class RetryPolicy:
    """Jittered exponential backoff that honours ``Retry-After``, bounded by attempts and total time."""

    max_attempts: int
    sleep: Callable[[float], Awaitable[None]]
    base_delay: float = 0.5
    max_delay: float = 8.0
    rng: random.Random = field(default_factory=random.Random)
    on_retry: Callable[[RetryCallState, CallBudget], None] | None = None

    def retrying(self, budget: CallBudget) -> AsyncRetrying:
        """A tenacity controller for one call; malformed or empty answers get only one more try."""

        def should_retry(error: BaseException) -> bool:
            if isinstance(error, BadResponse):
                budget.bad_responses += 1
                return budget.bad_responses <= 1
            return is_transient(error)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            return budget.remaining() - state.upcoming_sleep < MIN_ATTEMPT_SECONDS

        return AsyncRetrying(
            retry=retry_if_exception(should_retry),
            wait=lambda state: self.wait_seconds(state, budget),
            stop=stop,
            sleep=self.sleep,
            before_sleep=(lambda state: self.on_retry(state, budget)) if self.on_retry else None,
            reraise=True,
        )

    def wait_seconds(self, state: RetryCallState, budget: CallBudget) -> float:
        """``Retry-After`` (plus up to 10% jitter so waiting clients do not return together) or backoff.

        Capped at the remaining budget; a wait that would use it all up makes ``stop`` give up at
        once instead of sleeping into the deadline.
        """
        error = state.outcome.exception() if state.outcome else None
        requested = retry_after_seconds(error)
        if requested is not None:
            wait = requested * (1 + 0.1 * self.rng.random())
        else:
            ceiling = min(self.max_delay, self.base_delay * 2 ** (state.attempt_number - 1))
            wait = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        return max(0.0, min(wait, budget.remaining()))
