"""Scripted terminal play through the real SDK: answers by name, restarts, failures, a kill mid-turn."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cli.conftest import ROOT, bot_env, play

from bot.testing.openai_server import Fault


def test_addressed_character_answers_and_story_survives_restart(model_server, tmp_path: Path):
    """Mira answers when named; after a restart the cast and the earlier lines are still there."""
    env = bot_env(model_server, tmp_path / "play.db")
    model_server.enqueue("Fog's thick as wool tonight, Ann.")
    first = play(env, "/summon Mira\n/summon Old Tom\nMira, how are the boats?\n/quit\n", "--world", "harbor", "--user", "Ann")
    assert first.returncode == 0, first.stderr
    assert "Mira Salt: Fog's thick as wool tonight, Ann." in first.stdout
    asked = [r.messages for r in model_server.requests if "Mira, how are the boats?" in str(r.messages[-2:])]
    assert asked and "You are Mira Salt" in asked[0][0]["content"]

    second = play(env, "/cast\nMira, and now?\n", "--world", "harbor", "--user", "Ann")
    assert second.returncode == 0, second.stderr
    assert "- Mira Salt: here" in second.stdout and "- Old Tom Gannet: here" in second.stdout
    remembered = " ".join(str(m.get("content")) for m in model_server.requests[-1].messages)
    assert "how are the boats?" in remembered and "Fog's thick as wool tonight" in remembered


def test_server_errors_give_a_notice_not_a_traceback(model_server, tmp_path: Path):
    """Repeated 500s end in one short notice; the session goes on and nothing leaks."""
    env = bot_env(model_server, tmp_path / "play.db")
    model_server.enqueue(Fault.status(500), Fault.status(500), "Back again.")
    result = play(env, "/summon Mira\nMira?\nMira, still there?\n", "--world", "harbor")
    assert result.returncode == 0
    assert "(!) The storyteller's model is not answering" in result.stdout
    assert "Mira Salt: Back again." in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "test-key" not in result.stdout + result.stderr


def test_hung_server_times_out_into_a_notice(model_server, tmp_path: Path):
    """A server that never answers is cut off by the request timeout, then a notice."""
    env = bot_env(model_server, tmp_path / "play.db", LLM_TIMEOUT="0.5", LLM_MAX_TOTAL_SECONDS="2")
    model_server.enqueue(Fault.hang(), Fault.hang())
    started = time.monotonic()
    result = play(env, "/summon Pip\nPip?\n", "--world", "harbor")
    assert result.returncode == 0
    assert "(!) The storyteller's model is not answering" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert time.monotonic() - started < 30


def test_missing_key_is_one_sentence(tmp_path: Path, model_server):
    """No API key: one sentence naming the variable, exit code 2."""
    env = bot_env(model_server, tmp_path / "play.db")
    env.pop("LLM_API_KEY")
    result = play(env, "", "--world", "harbor")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Set LLM_API_KEY")
    assert len(result.stderr.strip().splitlines()) == 1


def test_kill_during_a_turn_loses_no_line_and_leaves_no_partial_turn(model_server, tmp_path: Path):
    """SIGKILL while the model is thinking: the line is stored, the turn has no replies, restart says so."""
    db = tmp_path / "play.db"
    env = bot_env(model_server, db, LLM_TIMEOUT="60", LLM_MAX_TOTAL_SECONDS="120")
    assert play(env, "/summon Mira\n", "--world", "harbor").returncode == 0
    model_server.enqueue(Fault.hang())
    seen = len(model_server.requests)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "play", "--world", "harbor"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
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

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT m.kind, m.text, t.status FROM messages m JOIN turns t ON t.id = m.turn_id"
            " WHERE t.id = (SELECT MAX(id) FROM turns)"
        ).fetchall()
    assert rows == [("user", "Mira, remember the blue lantern.", "open")]

    model_server.enqueue("I remember it, the blue one.")
    again = play(env, "Mira?\n", "--world", "harbor")
    assert "1 line was saved but not answered" in again.stdout
    with sqlite3.connect(db) as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM turns ORDER BY id")]
        npc_in_killed_turn = conn.execute(
            "SELECT COUNT(*) FROM messages m JOIN turns t ON t.id = m.turn_id WHERE t.status = 'interrupted' AND m.kind = 'npc'"
        ).fetchone()[0]
    assert "interrupted" in statuses and npc_in_killed_turn == 0
    remembered = " ".join(str(m.get("content")) for m in model_server.requests[-1].messages)
    assert "blue lantern" in remembered


def test_check_passes_on_shipped_content():
    """`python -m bot check` is clean on the shipped worlds and characters."""
    result = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_memory_rewind_and_stats_commands(model_server, tmp_path: Path):
    """/memory shows what a character knows; /rewind undoes turns; `stats` reads the guard counters."""
    env = bot_env(model_server, tmp_path / "play.db")
    model_server.enqueue("Aye. *He taps his nose.* Safe with me.", "As an AI language model, I cannot roleplay.", "Hmph. Fine.")
    script = (
        "/summon Old Tom\nTom, here is a secret: the map is hidden in the church organ.\n"
        "/memory Tom\nTom, do you trust me?\n/rewind 1\n/cast\n/memory Pip\n"
    )
    result = play(env, script, "--world", "harbor", "--user", "Ann")
    assert result.returncode == 0, result.stderr
    assert "the map is hidden in the church organ" in result.stdout.split("/memory Tom")[1]
    assert "(!) Rewound 1 turn." in result.stdout
    after = result.stdout.split("/rewind 1")[1]
    assert "- Old Tom Gannet: here" in after
    stats = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--format", "json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert stats.returncode == 0, stats.stderr
    figures = __import__("json").loads(stats.stdout)
    assert figures["quality"]["assistant_voice"]["found"] >= 1
    assert figures["usage"]["calls"] >= 2
