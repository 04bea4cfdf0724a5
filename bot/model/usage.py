"""Token usage: reading the SDK's figures and keeping running totals per backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.ports import Usage


@dataclass
class UsageTotals:
    """Running totals over the life of one backend, for cost reports and the benchmark."""

    calls: int = 0
    failed_calls: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def add(self, usage: Usage) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens


def usage_from_sdk(usage: Any) -> Usage:
    """Our ``Usage`` from the SDK's, also reading DeepSeek-style ``prompt_cache_hit_tokens``."""
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    if not cached:
        cached = (getattr(usage, "model_extra", None) or {}).get("prompt_cache_hit_tokens") or 0
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        cached_tokens=int(cached),
    )
