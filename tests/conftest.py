"""Shared fixtures: a real SQLite file per test, a fake clock, and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.ports import FakeClock
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock):
    opened = await Store.open(tmp_path / "test.db", clock=clock)
    yield opened
    await opened.close()
