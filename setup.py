"""Packaging beyond what pyproject.toml can say: the top-level data folders become package data.

``migrations/``, ``schemas/``, ``worlds/`` and ``characters/`` stay at the top of the repository
(people edit them there); in a wheel they are the data-only subpackages ``bot.shipped.<name>``,
found at run time by ``bot.shipped.shipped_folder``. Metadata lives in pyproject.toml.
"""

from setuptools import find_packages, setup

SHIPPED_DATA = {
    "migrations": ["*.sql", "postgresql/*.sql"],
    "schemas": ["*.json"],
    "worlds": ["*.yaml", "*.yml"],
    "characters": ["*.yaml", "*.yml", "avatars/*.png"],
}

setup(
    packages=[*find_packages(include=["bot", "bot.*"]), *(f"bot.shipped.{name}" for name in SHIPPED_DATA)],
    package_dir={f"bot.shipped.{name}": name for name in SHIPPED_DATA},
    package_data={
        "bot": ["py.typed", "eval/rubrics/*.md"],
        **{f"bot.shipped.{name}": patterns for name, patterns in SHIPPED_DATA.items()},
    },
)
