"""``python -m bot run`` with SHARD_COUNT/SHARD_IDS: settings errors are one sentence; real processes share
PostgreSQL (DATABASE_URL) for their story, shard leases and IDENTIFY slots; a duplicated process waits instead of
running a shard twice, and takes over when the first stops."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from test_discord_cli import ROOT, env  # noqa: F401  (the env fixture: settings in the environment)

from bot.__main__ import main
from bot.store.database import open_database


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("SHARD_IDS", "0-x", "SHARD_IDS must list shard numbers like 0,1 or 0-3, not '0-x'."),
        ("SHARD_COUNT", "0", "SHARD_COUNT must be 1 or more, not 0."),
        ("SHARD_COUNT", "two", "The setting SHARD_COUNT is invalid"),
        ("DATABASE_URL", "mysql://db/ensemble", "DATABASE_URL must be a postgresql://"),
    ],
)
def test_bad_shard_or_database_settings_exit_2_with_one_sentence(env, monkeypatch, capsys, variable, value, says) -> None:  # noqa: F811
    monkeypatch.setenv("SHARD_COUNT", "2")
    monkeypatch.setenv(variable, value)
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and "Traceback" not in err


def test_shard_ids_without_a_count_is_refused(env, monkeypatch, capsys) -> None:  # noqa: F811
    monkeypatch.setenv("SHARD_IDS", "0,1")
    assert main(["run"]) == 2
    assert capsys.readouterr().err.strip() == "SHARD_IDS needs SHARD_COUNT too: set SHARD_COUNT to the number of shards in all."


async def test_sharded_processes_share_postgres_and_a_duplicate_waits(env, discord_server, tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    discord_server.max_concurrency = 2  # shards 0 and 1 in separate IDENTIFY buckets

    async def start(shard_ids: str, log_level: str = "WARNING") -> asyncio.subprocess.Process:
        child_env = {
            **os.environ, **env, "PYTHONPATH": str(ROOT), "SHARD_COUNT": "2", "SHARD_IDS": shard_ids, "DATABASE_URL": pg_url,
            "LOG_LEVEL": log_level, "LOG_FORMAT": "json",
        }
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run",
            cwd=tmp_path, env=child_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )

    def identified(shard: list[int]) -> int:
        return sum(1 for d in discord_server.identifies if d.get("shard") == shard)

    processes: list[asyncio.subprocess.Process] = []
    try:
        first = await start("0")
        processes += [first, await start("1")]
        await discord_server.wait_until(
            lambda: identified([0, 2]) == 1 and identified([1, 2]) == 1, timeout=40, what="both shards' IDENTIFY"
        )
        await discord_server.wait_until(lambda: discord_server.ready_count >= 2, timeout=20, what="both READY")
        db = await open_database(pg_url)
        try:
            leases = await db.fetch_all("SELECT shard_id, shard_count, token FROM shard_leases ORDER BY shard_id")
            assert [(r["shard_id"], r["shard_count"], r["token"]) for r in leases] == [(0, 2, 1), (1, 2, 1)]
            holders = {r[0] for r in await db.fetch_all("SELECT holder FROM shard_leases")}
            assert len(holders) == 2
            # A duplicate of the first process: it must wait for shard 0, not connect it a second time.
            duplicate = await start("0", log_level="INFO")
            processes.append(duplicate)
            assert duplicate.stderr is not None
            while b'"shard.waiting"' not in (line := await asyncio.wait_for(duplicate.stderr.readline(), 30)):
                assert line, "the duplicate ended without waiting for the shard"
            assert identified([0, 2]) == 1, "a second process connected shard 0 while the first held it"
            # The first stops cleanly: it releases its lease, and the duplicate takes shard 0 over at once.
            first.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(first.communicate(), 20)
            assert first.returncode == 0, err.decode()
            await discord_server.wait_until(lambda: identified([0, 2]) == 2, timeout=30, what="the duplicate's IDENTIFY")
            assert await db.fetch_value("SELECT token FROM shard_leases WHERE shard_id = 0") == 2
        finally:
            await db.close()
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.communicate(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
    assert all(p.returncode == 0 for p in processes), [p.returncode for p in processes]
