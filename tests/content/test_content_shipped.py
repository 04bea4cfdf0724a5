"""Tests of the shipped worlds and characters: they validate, and they are rich enough to play."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

import pytest

from bot.content.loader import Library, collect_problems
from bot.content.models import World

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff]")
# A space between two CJK characters is what a folded YAML line break leaves behind in Chinese text.
SPACE_IN_CJK = re.compile(
    r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef] +[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
)


@pytest.fixture(scope="module")
def library() -> Library:
    library, problems = collect_problems(ROOT / "characters", ROOT / "worlds")
    assert problems == [], "\n".join(map(str, problems))
    return library


def test_shipped_content_has_no_problems():
    """Every shipped world and character validates, including every cross-file check."""
    library, problems = collect_problems(ROOT / "characters", ROOT / "worlds")
    assert [str(p) for p in problems] == []
    assert set(library.worlds) == {"harbor", "jianghu"}
    assert len(library.characters) == len(list((ROOT / "characters").glob("*.yaml")))


def test_every_character_file_is_cast_somewhere(library):
    """A shipped character that no world casts would never be played."""
    cast = {member for world in library.worlds.values() for member in world.cast}
    assert set(library.characters) == cast


def _neighbours(world: World) -> dict[str, set[str]]:
    """Where one can go from each place, ignoring locks (a key can be found), honouring one-way exits."""
    graph: dict[str, set[str]] = {loc.id: set() for loc in world.locations}
    for loc in world.locations:
        for exit_ in loc.exits:
            graph[loc.id].add(exit_.to)
            if not exit_.one_way:
                graph[exit_.to].add(loc.id)
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in graph[queue.popleft()] - seen:
            seen.add(nxt)
            queue.append(nxt)
    return seen


@pytest.mark.parametrize("world_id", ["harbor", "jianghu"])
def test_world_graph_is_rich_and_connected(library, world_id):
    """Five or more places, every kind of exit, every place reachable, and no place one cannot leave."""
    world = library.worlds[world_id]
    assert len(world.locations) >= 5
    exits = [exit_ for loc in world.locations for exit_ in loc.exits]
    assert any(e.locked for e in exits) and any(e.one_way for e in exits) and any(e.audible for e in exits)
    graph = _neighbours(world)
    assert _reachable(graph, world.start_location) == set(graph)
    for place in graph:
        assert world.start_location in _reachable(graph, place), f"{place} is a trap: no way back"


@pytest.mark.parametrize("world_id", ["harbor", "jianghu"])
def test_world_has_rules_lore_and_seeds(library, world_id):
    """Rules to keep, triggered lore (one constant, some with secondary keys), and seeds for the director."""
    world = library.worlds[world_id]
    assert world.user_start is not None
    assert len(world.rules) >= 4
    assert sum(entry.constant for entry in world.lore) == 1
    assert any(entry.secondary_keys for entry in world.lore)
    assert all(entry.keys for entry in world.lore if not entry.constant)
    assert len(world.event_seeds) >= 4
    assert len({seed.location for seed in world.event_seeds}) >= 3


@pytest.mark.parametrize("world_id", ["harbor", "jianghu"])
def test_cast_is_varied(library, world_id):
    """Four or more characters: one quiet, one chatty, spread over places, each with a voice of their own."""
    cast = library.cast_of(world_id)
    assert len(cast) >= 4
    talk = sorted(c.talkativeness for c in cast)
    assert talk[0] <= 0.25 and talk[-1] >= 0.75
    assert len({c.start_location for c in cast}) >= 2
    assert len({c.mood.label for c in cast}) == len(cast)
    assert len({c.voice.style for c in cast}) == len(cast)
    for character in cast:
        assert 1 <= len(character.voice.samples) <= 3
        assert (
            character.voice.quirks and character.voice.vocabulary and character.goals and character.greetings
        )
        assert "user" in character.relationships
        others = {c.id for c in cast} - {character.id}
        assert others <= set(character.relationships), f"{character.id} has no view of some cast members"


@pytest.mark.parametrize("world_id", ["harbor", "jianghu"])
def test_every_name_and_alias_finds_its_character(library, world_id):
    """Each cast name and alias resolves to its own character, so addressing is unambiguous."""
    for character in library.cast_of(world_id):
        for name in character.all_names():
            assert library.find_character(world_id, name) is character
    for location in library.worlds[world_id].locations:
        for name in [location.id, location.name, *location.aliases]:
            assert library.find_location(world_id, name) is location


def test_chinese_world_is_chinese(library):
    """The zh world, its places and its cast are named and written in Chinese."""
    world = library.worlds["jianghu"]
    assert world.language == "zh"
    assert CJK.search(world.name) and CJK.search(world.narrator.name)
    for location in world.locations:
        assert CJK.search(location.name) and all(CJK.search(alias) for alias in location.aliases)
    for character in library.cast_of("jianghu"):
        assert all(CJK.search(name) for name in character.all_names())
        for sample in character.voice.samples:
            assert CJK.search(sample.user) and CJK.search(sample.character)


def _texts(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def test_chinese_text_has_no_stray_spaces(library):
    """No space between Chinese characters (folded YAML lines would leave one at every line break)."""
    world = library.worlds["jianghu"]
    texts = _texts(world.model_dump())
    for character in library.cast_of("jianghu"):
        texts += _texts(character.model_dump())
    assert [text for text in texts if SPACE_IN_CJK.search(text)] == []
