"""Dependencies point one way: every import between the packages of ``bot/`` goes to a lower floor.

The floors, lowest first. A package may import only from floors below its own (never from its own floor's
other packages, never from above); imports inside functions count as well. Adding a package means giving
it a floor here, which is the moment to decide what it may depend on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot

FLOORS: list[set[str]] = [
    {"errors", "shipped"},  # the error type people see; where the shipped content lives
    {"logs", "failures", "core", "i18n", "settings"},
    {"quality"},  # pure detectors and the guard policy: text in, findings out
    {"store", "content"},  # the database; the content models (which carry a guard policy)
    {"memory", "world", "cards"},  # prompt layout and recall; space, time and the narrator; card formats
    {"engine"},  # turns, commands, the gate: composes everything below
    {"model", "metrics_server", "shards"},  # the chat and embedding backends implement the core's ports
    {"app"},  # the composition root's builder
    {"eval"},
    {"testing"},  # the local model servers answer the eval harness's formats
    {"discord_adapter"},
    {"bench"},
    {"cli"},
    {"__main__"},
]
ROOT = Path(bot.__file__).parent


def floor_of(package: str) -> int:
    for i, floor in enumerate(FLOORS):
        if package in floor:
            return i
    raise AssertionError(f"bot/{package} has no floor in tests/test_layers.py: give it one")


def cross_package_imports() -> list[tuple[str, str, str]]:
    """(importing package, imported package, file:line) for every import of another bot package."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        package = parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")
        if package == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("bot."):
                    target = name.split(".")[1]
                    if target != package:
                        found.append((package, target, f"{path.relative_to(ROOT.parent)}:{node.lineno}"))
    return found


def upward(imports: list[tuple[str, str, str]]) -> list[str]:
    return [
        f"{where}: bot/{src} (floor {floor_of(src)}) imports bot.{dst} (floor {floor_of(dst)})"
        for src, dst, where in imports
        if floor_of(dst) >= floor_of(src)
    ]


def test_every_import_between_packages_goes_down():
    found = upward(cross_package_imports())
    assert not found, "imports that do not go down:\n" + "\n".join(found)


def test_the_engine_and_everything_below_it_never_import_discord():
    below = {p for floor in FLOORS[: floor_of("engine") + 1] for p in floor}
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] not in below:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in getattr(node, "names", [])] if isinstance(node, ast.Import) else []
            if any(n == "discord" or n.startswith("discord.") for n in names):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert not offenders, offenders


def test_the_check_sees_an_upward_import_and_one_across_a_floor():
    """The rule itself: the scanner sees real imports, and an upward or sideways one is reported."""
    assert any(src == "engine" and dst == "core" for src, dst, _ in cross_package_imports())
    assert upward([("engine", "cli", "x.py:1"), ("store", "content", "y.py:2"), ("engine", "store", "z.py:3")]) == [
        "x.py:1: bot/engine (floor 5) imports bot.cli (floor 12)",
        "y.py:2: bot/store (floor 3) imports bot.content (floor 3)",
    ]
