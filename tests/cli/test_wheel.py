"""The installable package: a wheel built offline from this checkout carries the migrations, schemas, worlds,
characters, rubrics and the local model server, and an installed copy works from an empty folder.

The fresh virtual environment reuses this environment's dependencies through a ``.pth`` line (nothing is
downloaded); the wheel is installed into the fresh one, and the test checks that ``bot`` is imported from
there, never from this checkout or its editable install.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from cli.conftest import ROOT

SOURCES = ("pyproject.toml", "setup.py", "README.md", "bot", "migrations", "schemas", "worlds", "characters")
DATA = {"migrations": "*.sql", "migrations/postgresql": "*.sql", "schemas": "*.json", "worlds": "*.yaml", "characters": "*.yaml"}


def run(args: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None, timeout: float = 120):
    result = subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (no build/ or egg-info written into the worktree)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(source)],
        cwd=base, env=env)
    (wheel,) = (base / "dist").glob("ensemble_bot-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(built: Path, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its python."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False, symlinks=True)
    python = home / "bin" / "python"
    target = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                      cwd=home, env=clean_env()).stdout.strip())
    # Dependencies (and pip) from this environment, after the fresh site-packages on sys.path.
    (target / "_ensemble_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(built)],
        cwd=home, env=clean_env())
    return python


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH (pytest's would put the checkout first), no model or content settings from outside."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith(("LLM_", "OPENAI_", "DISCORD_", "CHARACTERS_", "WORLDS_"))}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUNBUFFERED="1", **extra)
    return env


def test_the_wheel_carries_the_data_and_declares_its_dependencies(built: Path) -> None:
    with zipfile.ZipFile(built) as wheel:
        names = set(wheel.namelist())
        metadata = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    for folder, pattern in DATA.items():
        shipped = {p.name for p in (ROOT / folder).glob(pattern)}
        assert shipped and {f"bot/shipped/{folder}/{name}" for name in shipped} <= names, folder
    rubrics = {p.name for p in (ROOT / "bot" / "eval" / "rubrics").glob("*.md")}
    assert {f"bot/eval/rubrics/{name}" for name in rubrics} <= names
    assert "bot/testing/openai_server.py" in names and "bot/shipped/__init__.py" in names
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)", metadata, re.M)
    assert {"aiohttp", "prometheus-client", "discord.py", "openai", "asyncpg"} <= {r.lower() for r in requires}


def test_the_installed_copy_checks_and_plays_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    where = run([str(installed), "-c", "import bot, bot.shipped as s; print(bot.__file__); print(s.shipped_folder('migrations'))"],
                cwd=empty, env=clean_env()).stdout.split()
    prefix = str(installed.parent.parent)
    assert all(path.startswith(prefix) for path in where), f"not the wheel's copy: {where}"

    check = run([str(installed), "-m", "bot", "check"], cwd=empty, env=clean_env())
    assert check.stdout.splitlines() == ["2 worlds, 8 characters OK"]

    server = subprocess.Popen(
        [str(installed), "-m", "bot.testing.openai_server", "--port", "0"],
        cwd=empty, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = server.stdout.readline() if server.stdout else ""
        match = re.search(r"base URL (\S+)", banner)
        assert match, f"the local model server did not start: {banner!r} {server.stderr.read() if server.stderr else ''}"
        env = clean_env(LLM_BASE_URL=match.group(1), LLM_API_KEY="local", LLM_MODEL="fake-model", RANDOM_SEED="3")
        played = run([str(installed), "-m", "bot", "play", "--world", "harbor", "--user", "Ann"], cwd=empty, env=env,
                     stdin="/summon Mira\nMira, what news from the boats?\n")
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "== Gannet's Reach ==" in played.stdout
    assert re.search(r"^Mira Salt: \S", played.stdout, re.M), played.stdout
    assert "Traceback" not in played.stderr
    assert (empty / "data" / "ensemble.db").is_file(), "the database is created where DATABASE_PATH says (the default)"
