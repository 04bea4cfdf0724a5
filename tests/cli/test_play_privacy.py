"""``/privacy`` in ``play`` and ``export-preferences`` on the scene it played: swipes in, an opted-out player's scene out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli.conftest import ROOT, bot_env, play


def export(env: dict[str, str], out: Path) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "bot", "export-preferences", "--out", str(out), "--scene", "harbor"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_swipes_export_and_privacy(model_server, tmp_path: Path) -> None:
    env = bot_env(model_server, tmp_path / "play.db")
    model_server.enqueue("Mira squints. \"Who asks?\"", "Mira laughs. \"Well met, stranger.\"", "Mira nods. \"Sit.\"")
    script = "/summon Mira\nMira, hello there.\n/regenerate\nNice to meet you, Mira.\n/privacy\n/quit\n"
    first = play(env, script, "--world", "harbor", "--user", "Ann")
    assert first.returncode == 0, first.stderr
    assert "your swipes may go into preference exports on this server" in first.stdout
    # Mira answers and goes on (a chain of two lines); /regenerate replaces the latest, which then stays.
    (record,) = export(env, tmp_path / "prefs.jsonl")
    assert record["chosen"][0]["content"] == 'Mira nods. "Sit."'
    assert [r[0]["content"] for r in record["rejected"]] == ['Mira laughs. "Well met, stranger."']
    assert record["character"] == "mira" and record["world"] == "harbor"

    second = play(env, "/privacy off\n/quit\n", "--world", "harbor", "--user", "Ann")
    assert "left out of preference exports" in second.stdout
    assert export(env, tmp_path / "prefs.jsonl") == []
    third = play(env, "/privacy maybe\n/privacy on\n/quit\n", "--world", "harbor", "--user", "Ann")
    assert "Usage: /privacy [on|off]" in third.stdout and "may go into" in third.stdout
    assert len(export(env, tmp_path / "prefs.jsonl")) == 1
