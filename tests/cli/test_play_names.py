"""The player's name in ``play`` when ``--user`` is not given: the login name, never "You"."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli.conftest import bot_env, play

from bot.cli.play import default_player_name
from bot.testing.openai_server import ServerThread


@pytest.mark.parametrize(
    ("login", "language", "expected"),
    [
        ("ann", "en", "Ann"),
        ("McAllister", "en", "McAllister"),
        ("阿安", "zh", "阿安"),
        ("root", "en", "Traveller"),
        ("root", "zh", "旅人"),
        (None, "en", "Traveller"),
        ("  ", "en", "Traveller"),
        ("1001", "en", "Traveller"),
    ],
)
def test_default_player_name(login: str | None, language: str, expected: str):
    assert default_player_name(login, language) == expected


def test_without_user_the_login_name_is_the_player(tmp_path: Path):
    """The narrator and the prompt use the login name; "You goes" never appears."""
    with ServerThread() as server:
        env = bot_env(server, tmp_path / "n.db", USER="ann", LOGNAME="ann")
        result = play(env, "/summon Mira\n/go the tavern\nMira, hello.\n", "--world", "harbor")
        prompts = [str(m.get("content", "")) for r in server.requests for m in r.body["messages"]]
    assert result.returncode == 0, result.stderr
    assert "> Ann: /go the tavern" in result.stdout
    assert "Ann goes from Lantern Quay to The Salt & Lantern." in result.stdout
    assert "You goes" not in result.stdout and "Mm, You" not in result.stdout
    assert any("Ann" in p for p in prompts)


def test_map_is_written_to_a_file_and_its_path_printed(tmp_path: Path):
    """/map in play: a PNG on disk (the given path, or WORLD-map.png), the path printed."""
    target = tmp_path / "harbour.png"
    with ServerThread() as server:
        result = play(bot_env(server, tmp_path / "m.db"), f"/summon Mira\n/map {target}\n", "--world", "harbor", "--user", "Ann")
    assert result.returncode == 0, result.stderr
    assert f"(!) Map written to {target}." in result.stdout
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
