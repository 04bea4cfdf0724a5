"""The engine fixtures shared with the memory tests."""

from engine.conftest import WORLD, character, engine, key, library, model  # noqa: F401
