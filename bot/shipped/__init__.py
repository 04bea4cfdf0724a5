"""Where the shipped data lives: migrations, JSON Schemas, worlds and characters.

In a checkout they are the top-level folders ``migrations/``, ``schemas/``, ``worlds/`` and
``characters/`` (the project keeps them there, next to the code, for people editing them). A built
wheel carries the same folders as data-only subpackages ``bot.shipped.<name>`` (``setup.py`` maps
them), so an installed copy finds them from any working directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED = ("migrations", "schemas", "worlds", "characters")


def shipped_folder(name: str) -> Path:
    """The folder of shipped data called ``name``: inside the installed package, else the checkout's."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped folder {name!r}")
    packaged = resources.files(__package__).joinpath(name)
    if packaged.is_dir():
        return Path(str(packaged))
    # A checkout (or an editable install, which runs the checkout): the folder beside ``bot/``.
    return Path(__file__).resolve().parents[2] / name
