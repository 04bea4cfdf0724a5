"""``play`` with DATABASE_URL: the whole story in a real PostgreSQL, across restarts, a kill mid-turn, and a
community moved there from SQLite with ``migrate-db``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from cli.conftest import ROOT, bot_env, play

from bot.store.database import open_database
from bot.testing.openai_server import Fault


def rows(url: str, sql: str) -> list[tuple]:
    async def read() -> list[tuple]:
        db = await open_database(url)
        try:
            return [tuple(r) for r in await db.fetch_all(sql)]
        finally:
            await db.close()

    return asyncio.run(read())


def test_a_story_in_postgres_survives_a_restart(model_server, tmp_path: Path, pg_url: str):
    env = bot_env(model_server, tmp_path / "unused.db", DATABASE_URL=pg_url)
    model_server.enqueue("Fog's thick as wool tonight, Ann.")
    first = play(env, "/summon Mira\n/summon Old Tom\nMira, how are the boats?\n", "--world", "harbor", "--user", "Ann")
    assert first.returncode == 0, first.stderr
    assert "Mira Salt: Fog's thick as wool tonight, Ann." in first.stdout
    second = play(env, "/cast\nMira, and now?\n", "--world", "harbor", "--user", "Ann")
    assert second.returncode == 0, second.stderr
    assert "- Mira Salt: here" in second.stdout and "- Old Tom Gannet: here" in second.stdout
    remembered = " ".join(str(m.get("content")) for m in model_server.requests[-1].messages)
    assert "how are the boats?" in remembered and "Fog's thick as wool tonight" in remembered
    assert ("Mira, how are the boats?",) in rows(pg_url, "SELECT text FROM messages WHERE kind = 'user'")
    assert not (tmp_path / "unused.db").exists(), "the SQLite file was created although DATABASE_URL was set"
    stats = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--format", "json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert stats.returncode == 0, stats.stderr
    assert '"calls"' in stats.stdout


def test_a_kill_mid_turn_on_postgres_loses_no_line(model_server, tmp_path: Path, pg_url: str):
    """kill -9 while the model thinks: the line is in PostgreSQL, the turn open; the next start marks it
    interrupted, says so, and the character still knows the line."""
    env = bot_env(model_server, tmp_path / "unused.db", DATABASE_URL=pg_url, LLM_TIMEOUT="60", LLM_MAX_TOTAL_SECONDS="120")
    assert play(env, "/summon Mira\n", "--world", "harbor").returncode == 0
    model_server.enqueue(Fault.hang())
    seen = len(model_server.requests)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "play", "--world", "harbor"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write("Mira, remember the blue lantern.\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while len(model_server.requests) == seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(model_server.requests) > seen, "the model was never called"
    proc.kill()
    proc.wait(timeout=10)
    last_turn = (
        "SELECT m.kind, m.text, t.status FROM messages m JOIN turns t ON t.id = m.turn_id WHERE t.id = (SELECT MAX(id) FROM turns)"
    )
    assert rows(pg_url, last_turn) == [("user", "Mira, remember the blue lantern.", "open")]
    model_server.enqueue("I remember it, the blue one.")
    again = play(env, "Mira?\n", "--world", "harbor")
    assert "1 line was saved but not answered" in again.stdout
    assert ("interrupted",) in rows(pg_url, "SELECT status FROM turns")
    remembered = " ".join(str(m.get("content")) for m in model_server.requests[-1].messages)
    assert "blue lantern" in remembered


def test_a_sqlite_story_moved_with_migrate_db_goes_on_in_postgres(model_server, tmp_path: Path, pg_url: str):
    db = tmp_path / "community.db"
    lite = bot_env(model_server, db)
    model_server.enqueue("The lighthouse lamp is cracked, Ann.")
    assert play(lite, "/summon Mira\nMira, what of the lighthouse?\n", "--world", "harbor", "--user", "Ann").returncode == 0
    moved = subprocess.run(
        [sys.executable, "-m", "bot", "migrate-db", "--to", pg_url], capture_output=True, text=True, cwd=ROOT, env=lite, timeout=120
    )
    assert moved.returncode == 0, moved.stderr
    on_pg = bot_env(model_server, db, DATABASE_URL=pg_url)
    model_server.enqueue("Aye, still cracked.")
    later = play(on_pg, "/cast\nMira, and the lamp?\n", "--world", "harbor", "--user", "Ann")
    assert later.returncode == 0, later.stderr
    assert "- Mira Salt: here" in later.stdout and "Mira Salt: Aye, still cracked." in later.stdout
    remembered = " ".join(str(m.get("content")) for m in model_server.requests[-1].messages)
    assert "what of the lighthouse?" in remembered and "The lighthouse lamp is cracked" in remembered
    # The new lines went to PostgreSQL; the SQLite file kept only what was said before the move.
    assert ("Mira, and the lamp?",) in rows(pg_url, "SELECT text FROM messages WHERE kind = 'user'")
    assert ("Mira, and the lamp?",) not in rows(str(db), "SELECT text FROM messages WHERE kind = 'user'")
