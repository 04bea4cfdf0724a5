"""Deployment files: the compose file parses and wires the services as the README says (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.testing import openai_server

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_file_parses_and_runs_the_bot() -> None:
    services = compose()["services"]
    bot = services["bot"]
    assert "profiles" not in bot and bot["env_file"] == ".env" and bot["build"] == "."
    assert "ensemble-data:/app/data" in bot["volumes"]
    assert {"./characters:/app/characters:ro", "./worlds:/app/worlds:ro"} <= set(bot["volumes"])
    assert bot["environment"]["DATABASE_PATH"].startswith("/app/data/")
    assert "ensemble-data" in compose()["volumes"]


def test_local_model_profile_points_the_bot_at_the_model_service() -> None:
    services = compose()["services"]
    model = services["model"]
    assert model["profiles"] == ["local-model"]
    assert model["command"][:3] == ["python", "-m", "bot.testing.openai_server"]
    assert "--host" in model["command"] and "8089" in model["command"]
    local = services["bot-local-model"]
    assert local["profiles"] == ["local-model"] and local["depends_on"] == ["model"]
    assert local["environment"]["LLM_BASE_URL"] == "http://model:8089/v1"
    assert local["volumes"] == services["bot"]["volumes"]


def test_model_server_command_line_is_accepted(monkeypatch) -> None:
    """The flags the compose file passes are the server's own (parsed by its real parser, not served)."""
    flags = compose()["services"]["model"]["command"][3:]
    assert flags == ["--host", "0.0.0.0", "--port", "8089"]
    started = []
    monkeypatch.setattr(openai_server.asyncio, "run", lambda coro: (started.append(True), coro.close()))
    assert openai_server.main(flags) == 0 and started


def test_dockerfile_runs_the_bot_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert 'CMD ["python", "-m", "bot", "run"]' in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1] != "USER root"
    assert 'VOLUME ["/app/data"]' in text and "COPY migrations" in text
