"""The terminal shares the engine's limits: a player past the limit is told once, dimly, and the line is
kept; ``python -m bot stats`` shows each server's usage against its limits."""

from __future__ import annotations

import json
import subprocess
import sys

from cli.conftest import ROOT, bot_env, play

from bot.i18n import tr

SLOW_DOWN = tr("en", "limits.slow_down")


def test_lines_past_the_limit_are_kept_and_told_once(model_server, tmp_path) -> None:
    env = bot_env(model_server, tmp_path / "e.db", USER_LINES_PER_MINUTE="1")
    script = "/summon Mira\nMira, one?\nMira, two?\nMira, three?\n/export out.jsonl\n"
    result = play(env, script.replace("out.jsonl", str(tmp_path / "out.jsonl")), "--world", "harbor", "--user", "Ann")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    answered, held = out.split("> Ann: Mira, two?")
    assert "Mira Salt:" in answered and "Mira Salt:" not in held, out
    assert out.count(f"(slow down) {SLOW_DOWN}") == 1, "once a minute, not on every held line"
    assert "\x1b[" not in out, "dim only on a terminal, plain text in a pipe"
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [r.get("text") for r in exported]
    assert "Mira, two?" in texts and "Mira, three?" in texts, "held lines are stored"


def test_stats_shows_usage_against_the_limits(model_server, tmp_path) -> None:
    db = tmp_path / "e.db"
    env = bot_env(model_server, db, SERVER_TOKENS_PER_DAY="1000000", USER_LINES_PER_MINUTE="5")
    assert play(env, "/summon Mira\nMira, hello?\nI leave.\n", "--world", "harbor").returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "bot", "stats", "--format", "json"], capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    local = figures["limits"]["local"]
    assert local["tokens_per_day"] == 1000000 and local["lines_per_minute"] == 5
    assert 0 < local["tokens_today"] == figures["usage"]["prompt_tokens"] + figures["usage"]["completion_tokens"]
    assert "of 1,000,000 model tokens used today" in local["summary"]
    assert {"npc", "narrator"} <= set(figures["by_purpose"])
    table = subprocess.run([sys.executable, "-m", "bot", "stats"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert "servers today:" in table.stdout and "local: Limits: 5 lines per player per minute" in table.stdout
