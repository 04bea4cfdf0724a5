"""Shared fixtures: a real SQLite file per test, a fake clock, and the repository root.

The PostgreSQL fixtures (a throwaway cluster per session, a database per test) are in
``tests/postgres_cluster.py``, loaded as a plugin. A test module marked ``both_databases`` runs each
test that uses ``store`` twice: on a SQLite file and on a real PostgreSQL database (the same test, the
same assertions).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.ports import FakeClock
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]

pytest_plugins = ("postgres_cluster",)


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run the tests using `store` on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("store", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock):
    """The store on a SQLite file, or (``both_databases``, second run) on a PostgreSQL database of its own."""
    dialect = getattr(request, "param", "sqlite")
    target = tmp_path / "test.db" if dialect == "sqlite" else request.getfixturevalue("pg_migrated_url")
    opened = await Store.open(target, clock=clock)
    yield opened
    await opened.close()
