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


def dockerfile():
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser, [(i["instruction"], i["value"]) for i in parser.structure if i["instruction"] != "COMMENT"]


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction, value in instructions:
        if instruction == "FROM":
            found.append([])
        found[-1].append((instruction, value))
    return found


def test_dockerfile_runs_the_bot_as_a_non_root_user() -> None:
    parser, instructions = dockerfile()
    assert (ROOT / "Dockerfile").read_text(encoding="utf-8").startswith("#")
    assert parser.parent_images == ["python:3.11-slim", "python:3.11-slim"]
    final = stages(instructions)[-1]
    assert ("CMD", '["python", "-m", "bot", "run"]') in final
    users = [value for instruction, value in final if instruction == "USER"]
    assert users and users[-1] != "root"
    assert ("VOLUME", '["/app/data"]') in final


def test_dockerfile_builds_a_wheel_and_installs_only_that() -> None:
    """Two stages: the first copies what setup.py packages and builds the wheel; the second installs it
    (never an editable install, which would hide missing package data)."""
    from bot.shipped import SHIPPED

    _, instructions = dockerfile()
    build, final = stages(instructions)
    copied = {part for instruction, value in build if instruction == "COPY" for part in value.split()[:-1]}
    assert {"pyproject.toml", "setup.py", "README.md", "bot", *SHIPPED} <= copied
    assert any(i == "RUN" and "pip wheel" in v and "--no-deps" in v for i, v in build)
    assert ("COPY", "--from=build /wheels /wheels") in final
    runs = [v for i, v in final if i == "RUN"]
    assert any("pip install /wheels/" in v for v in runs)
    assert not any("-e" in v.split() or "--editable" in v for v in runs)
    assert not any(i == "COPY" and not v.startswith("--from=build") for i, v in final), "the final image gets only the wheel"


def test_compose_serves_metrics_and_checks_health() -> None:
    services = compose()["services"]
    for name in ("bot", "bot-local-model"):
        service = services[name]
        assert service["environment"]["METRICS_PORT"] == "9464" and service["environment"]["METRICS_HOST"] == "0.0.0.0"
        assert "9464/healthz" in " ".join(service["healthcheck"]["test"])


def test_sharded_profile_runs_two_processes_over_all_shards_against_postgres() -> None:
    """The postgres service (official image, named volume, health check) and two bots that wait for it,
    reach it by its service name, and split the shards between them without gap or overlap."""
    from urllib.parse import urlsplit

    from bot.shards.plan import ShardPlan

    services = compose()["services"]
    postgres = services["postgres"]
    assert postgres["image"].split(":")[0] == "postgres" and postgres["profiles"] == ["sharded"]
    volume = postgres["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in compose()["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    env = postgres["environment"]
    bots = [name for name, service in services.items() if "SHARD_COUNT" in service.get("environment", {})]
    assert len(bots) == 2
    plans = []
    for name in bots:
        service = services[name]
        assert service["profiles"] == ["sharded"]
        assert service["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        url = urlsplit(service["environment"]["DATABASE_URL"].replace("${POSTGRES_PASSWORD:-ensemble}", "pw"))
        assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432
        assert url.username == env["POSTGRES_USER"] and url.path == f"/{env['POSTGRES_DB']}"
        assert service["volumes"] == services["bot"]["volumes"]  # the SQLite story store, shared on one host
        plan = ShardPlan.from_settings(int(service["environment"]["SHARD_COUNT"]), service["environment"]["SHARD_IDS"])
        assert plan is not None
        plans.append(plan)
    assert len({p.shard_count for p in plans}) == 1
    owned = [i for p in plans for i in p.shard_ids]
    assert sorted(owned) == list(range(plans[0].shard_count)), "every shard run by exactly one process"
