"""Fixtures for content tests: a small valid content tree to break on purpose, and the shipped folders."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def _character(name: str, start: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name} is a test character.",
        "personality": "Plain.",
        "voice": {"style": "Plain words.", "samples": [{"user": "Hello?", "character": f"{name} here."}]},
        "start_location": start,
        "relationships": {"user": {"affinity": 10}},
        **extra,
    }


@pytest.fixture
def repo_root() -> Path:
    """The checkout's root, where ``characters/``, ``worlds/`` and ``schemas/`` live."""
    return REPO_ROOT


@pytest.fixture
def write_yaml() -> Callable[[Path, Any], Path]:
    """Write data as a YAML file (creating folders); returns the path."""

    def write(path: Path, data: Any) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def edit_yaml() -> Callable[[Path, Callable[[Any], None]], Path]:
    """Load a YAML file, let a function change the data in place, and write it back."""

    def edit(path: Path, change: Callable[[Any], None]) -> Path:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return edit


@pytest.fixture
def mini(tmp_path: Path, write_yaml: Callable[[Path, Any], Path]) -> tuple[Path, Path]:
    """A tiny valid tree: world ``town`` (square, well; one locked exit) with cast ``ann`` and ``bo``.

    Returns ``(characters_dir, worlds_dir)``. Tests break one thing in it and look for exactly that problem.
    """
    characters = tmp_path / "characters"
    worlds = tmp_path / "worlds"
    write_yaml(characters / "ann.yaml", _character("Ann", "square", aliases=["Annie"]))
    write_yaml(
        characters / "bo.yaml",
        _character(
            "Bo", "well", relationships={"user": {"affinity": 0}, "ann": {"affinity": 40, "note": "sister"}}
        ),
    )
    write_yaml(
        worlds / "town.yaml",
        {
            "name": "Town",
            "description": "A small test town.",
            "locations": [
                {
                    "id": "square",
                    "name": "Market Square",
                    "description": "Cobbles.",
                    "aliases": ["the square"],
                    "exits": ["well"],
                },
                {
                    "id": "well",
                    "name": "Old Well",
                    "description": "Deep.",
                    "exits": [{"to": "cellar", "locked": True}],
                },
                {"id": "cellar", "name": "Cellar", "description": "Damp."},
            ],
            "user_start": "square",
            "cast": ["ann", "bo"],
            "event_seeds": [{"text": "A bucket falls.", "location": "well", "characters": ["bo"]}],
        },
    )
    return characters, worlds


@pytest.fixture
def shipped_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped ``characters/`` and ``worlds/`` folders, safe to break."""
    characters = tmp_path / "characters"
    worlds = tmp_path / "worlds"
    shutil.copytree(REPO_ROOT / "characters", characters)
    shutil.copytree(REPO_ROOT / "worlds", worlds)
    return characters, worlds
