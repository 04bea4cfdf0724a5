"""Shared fixtures: a real SQLite file per test, a fake clock, and the repository root.

The PostgreSQL fixtures (a throwaway cluster per session, a database per test) are in
``tests/postgres_cluster.py``, loaded as a plugin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.ports import FakeClock
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ("postgres_cluster",)


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
