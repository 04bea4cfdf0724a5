"""No traceback reaches a person: each start-up failure is one sentence saying what to do and exit code 2,
with the traceback only in the debug log. Real subprocesses, real sockets, a real locked SQLite file.

(A token Discord rejects and the Message Content intent are in tests/discord/test_discord_cli.py.)"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from cli.conftest import ROOT, bot_env, play

from bot.__main__ import main
from bot.failures import database_problem, network_problem

LINUX_SYSFS = Path("/sys/kernel")


def run_bot(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


def discord_env(model_server, tmp_path: Path, api_base: str, **extra: str) -> dict[str, str]:
    return bot_env(
        model_server, tmp_path / "data" / "e.db", DISCORD_TOKEN="a.b.c", DISCORD_API_BASE=api_base, **extra
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_discord_refusing_connections_is_one_sentence(model_server, tmp_path) -> None:
    sentence = one_sentence(run_bot(discord_env(model_server, tmp_path, "http://127.0.0.1:9/api/v10"), "run"))
    assert sentence.startswith("Cannot reach Discord at http://127.0.0.1:9/api/v10 (connection refused)")
    assert "DISCORD_API_BASE" in sentence


def test_an_unresolvable_discord_host_is_one_sentence(model_server, tmp_path) -> None:
    result = run_bot(discord_env(model_server, tmp_path, "http://ensemble-test.invalid/api/v10"), "run")
    assert "the host name does not resolve" in one_sentence(result)


def test_the_traceback_is_in_the_debug_log(model_server, tmp_path) -> None:
    env = discord_env(model_server, tmp_path, "http://127.0.0.1:9/api/v10", LOG_LEVEL="DEBUG")
    result = run_bot(env, "run")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "discord.start_failed" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Cannot reach Discord")


def test_an_unreachable_model_gives_the_usual_short_notice(model_server, tmp_path) -> None:
    env = bot_env(model_server, tmp_path / "e.db", LLM_BASE_URL="http://127.0.0.1:9/v1")
    result = play(env, "/summon Mira\nMira, are you there?\n", "--world", "harbor")
    assert result.returncode == 0, result.stderr
    assert "(!) The storyteller's model is not answering right now; try again in a moment." in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.skipif(not LINUX_SYSFS.is_dir(), reason="needs Linux sysfs: a folder even root cannot write")
def test_a_read_only_database_folder_is_one_sentence(model_server, tmp_path) -> None:
    env = bot_env(model_server, LINUX_SYSFS / "ensemble.db")
    sentence = one_sentence(play(env, "", "--world", "harbor"))
    assert sentence.startswith(f"Cannot write the database {LINUX_SYSFS / 'ensemble.db'}") and "DATABASE_PATH" in sentence


@pytest.mark.skipif(not LINUX_SYSFS.is_dir(), reason="needs Linux sysfs: a folder even root cannot create")
@pytest.mark.parametrize("command", [["play", "--world", "harbor"], ["stats"]])
def test_a_database_folder_that_cannot_be_created_is_one_sentence(model_server, tmp_path, command) -> None:
    env = bot_env(model_server, Path("/sys/ensemble-test/e.db"))
    sentence = one_sentence(run_bot(env, *command))
    assert sentence.startswith("Cannot create the database folder /sys/ensemble-test") and "DATABASE_PATH" in sentence


def test_a_file_where_the_database_folder_should_be_is_one_sentence(model_server, tmp_path) -> None:
    (tmp_path / "data").write_text("not a folder", encoding="utf-8")
    env = bot_env(model_server, tmp_path / "data" / "e.db")
    sentence = one_sentence(play(env, "", "--world", "harbor"))
    assert "a file is in the way" in sentence


def test_a_database_locked_by_another_process_is_one_sentence(model_server, tmp_path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("CREATE TABLE held (x)")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO held VALUES (1)")
        # The bot waits out SQLite's busy timeout (5 s), then gives up with a sentence.
        sentence = one_sentence(play(bot_env(model_server, path), "", "--world", "harbor"))
    finally:
        holder.close()
    assert sentence.startswith(f"The database {path} is locked by another process")


def test_an_unexpected_failure_is_a_code_not_a_traceback(monkeypatch, capsys) -> None:
    import bot.cli.stats as stats

    was_configured = structlog.is_configured()
    monkeypatch.setattr(logging.getLogger(), "handlers", list(logging.getLogger().handlers))

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(stats, "run", broken)
    try:
        assert main(["stats"]) == 2
    finally:
        if not was_configured:  # main() configured logging for its debug line: leave none behind
            structlog.reset_defaults()
    err = capsys.readouterr().err.strip()
    assert err.startswith("Something went wrong (E-") and "LOG_LEVEL=DEBUG" in err and "\n" not in err


def test_sentences_are_pure_functions_of_the_failure(tmp_path) -> None:
    db = tmp_path / "x.db"
    assert "locked by another process" in database_problem(db, sqlite3.OperationalError("database is locked"))
    assert "read-only or missing" in database_problem(db, sqlite3.OperationalError("attempt to write a readonly database"))
    assert "not a usable SQLite database" in database_problem(db, sqlite3.DatabaseError("file is not a database"))
    assert database_problem(db, ValueError("no")) is None
    refused = network_problem("Discord", "DISCORD_API_BASE", "http://x", ConnectionRefusedError(111, "refused"))
    assert refused is not None and "connection refused" in refused
    assert network_problem("Discord", "DISCORD_API_BASE", "http://x", ValueError("x")) is None
    assert os.fspath(db.parent) in database_problem(db, PermissionError(13, "Permission denied"))
