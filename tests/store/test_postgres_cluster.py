"""The test cluster itself: a real server, not run as root, one database of its own per test."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest
from postgres_cluster import NOT_INSTALLED, Cluster, find_binaries, unavailable

_seen: set[str] = set()


async def test_each_test_gets_its_own_empty_database(pg_url: str, postgres_cluster: Cluster):
    conn = await asyncpg.connect(pg_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        data_dir = Path(await conn.fetchval("SELECT current_setting('data_directory')"))
    finally:
        await conn.close()
    assert name not in _seen
    _seen.add(name)
    assert data_dir.resolve() == postgres_cluster.data.resolve()
    # PostgreSQL refuses root; as root the cluster belongs to the postgres user.
    assert data_dir.stat().st_uid != 0 or os.geteuid() != 0


async def test_a_second_test_gets_another_database(pg_url: str):
    conn = await asyncpg.connect(pg_url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        await conn.execute("CREATE TABLE mine (id INTEGER)")
    finally:
        await conn.close()
    assert name not in _seen
    _seen.add(name)


def test_binaries_are_found_where_debian_puts_them():
    """Debian installs initdb under /usr/lib/postgresql/N/bin, off PATH: the fixture looks there too."""
    folder = find_binaries()
    if folder is None:
        unavailable(NOT_INSTALLED)
    assert folder is not None
    assert (folder / "initdb").exists() and (folder / "pg_ctl").exists()


def test_missing_postgres_skips_on_a_laptop_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch):
    """One line naming the package; in CI (which installs it) the same is a failure, never a silent skip."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        unavailable(NOT_INSTALLED)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        unavailable(NOT_INSTALLED)
