"""Fixtures for the model backend tests: a fake OpenAI server on loopback and a time that need not pass."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.model.openai_chat import OpenAIChatModel
from bot.testing.openai_server import OpenAIServer

API_KEY = "sk-test-0123456789abcdef"


class FakeTime:
    """Backoff sleeps are recorded and move this clock forward instantly; real time still counts."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return time.monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds
        await asyncio.sleep(0)


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
async def server() -> AsyncIterator[OpenAIServer]:
    async with OpenAIServer(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def make_model(
    server: OpenAIServer, fake_time: FakeTime
) -> AsyncIterator[Callable[..., OpenAIChatModel]]:
    """Build backends pointed at ``server`` with injected sleep/clock; closed after the test."""
    made: list[OpenAIChatModel] = []

    def make(**overrides: Any) -> OpenAIChatModel:
        options: dict[str, Any] = {
            "base_url": server.base_url,
            "api_key": API_KEY,
            "model": "fake-model",
            "request_timeout": 2.0,
            "max_attempts": 4,
            "max_total_seconds": 30.0,
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "rng": random.Random(7),
        }
        options.update(overrides)
        model = OpenAIChatModel(**options)
        made.append(model)
        return model

    yield make
    for model in made:
        await model.aclose()
