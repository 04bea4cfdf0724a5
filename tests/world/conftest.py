"""The engine fixtures (a small manor world, an in-process model) shared with the living-world tests."""

from engine.conftest import WORLD, character, engine, key, library, model  # noqa: F401
