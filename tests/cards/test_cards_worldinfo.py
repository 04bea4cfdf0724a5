"""SillyTavern World Info -> lore entries, and adding them to a world file."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.cards.store import add_lore_to_world_file
from bot.cards.worldinfo import import_world_info, lore_from_world_info
from bot.content.loader import load_world_file
from bot.content.models import LoreEntry
from bot.errors import ContentError
from tests.cards.conftest import st_book_entry, st_v2_card, st_world_info

WORLD_YAML = """\
# The harbor town.
name: Old Harbor
description: A rainy port.
locations:
  - id: docks
    name: The Docks
    description: Wet planks.
lore:
  - id: mine
    keys: [mine]
    content: My own entry.
"""


def entries_by_id(data: dict, prefix: str = "old-harbor"):
    result = import_world_info(json.dumps(data).encode(), "harbor.json")
    return {e.id.removeprefix(prefix + "-"): e for e in result.entries}, result


def test_world_info_fields_map_to_lore_entries():
    """keys, secondary keys + logic, constant, order, probability, enabled, case and whole-word all map."""
    entries, result = entries_by_id(st_world_info())
    assert result.name == "Old Harbor"
    assert entries["0"] == LoreEntry(id="old-harbor-0", keys=["harbor", "docks"],
                                     content="The harbor smells of tar and fish.", order=10)
    assert entries["1"] == LoreEntry(id="old-harbor-1", keys=["smuggler"], secondary_keys=["night", "boat"],
                                     selective_logic="not_all", content="Smugglers land after midnight.",
                                     probability=25, case_sensitive=True)
    assert not entries["2"].enabled and entries["2"].whole_word is False
    assert entries["3"].constant and entries["3"].keys == [] and entries["3"].selective_logic == "not_any"
    assert entries["4"].secondary_keys == [] and entries["4"].probability == 100  # not selective; chance off


def test_entries_that_can_never_fire_are_skipped_and_counted():
    """Blank content, or no key without constant: skipped, with one note."""
    entries, result = entries_by_id(st_world_info())
    assert "5" not in entries and "6" not in entries
    assert result.warnings == ["2 entries with no content or no keys could never fire and were skipped"]


def test_entries_are_ordered_like_sillytavern_shows_them():
    """displayIndex (then uid) orders the entries."""
    _, result = entries_by_id(st_world_info())
    assert [e.id for e in result.entries] == [f"old-harbor-{n}" for n in ("2", "0", "1", "3", "4")]


def test_the_id_prefix_falls_back_to_the_file_name():
    """A book without a name uses the file name for its ids."""
    data = {"entries": {"7": {"uid": 7, "key": ["k"], "content": "c"}}}
    assert import_world_info(json.dumps(data).encode(), "My Book.json").entries[0].id == "my-book-7"


def test_character_book_shape_and_whole_cards_are_accepted():
    """A character_book (entries list) or a card containing one imports too."""
    book = {"name": "Eldoria", "entries": [st_book_entry(0, ["forest"], "Old trees.")]}
    assert lore_from_world_info(book, id_prefix="e").entries[0].keys == ["forest"]
    card_result = lore_from_world_info(st_v2_card(), id_prefix="s")
    assert [e.id for e in card_result.entries] == ["s-0", "s-1", "s-2"]


def test_keys_given_as_a_comma_string_are_split():
    """Old files store keys as one comma-separated string."""
    data = {"entries": {"0": {"key": "cat, dog", "content": "Pets."}}}
    assert lore_from_world_info(data).entries[0].keys == ["cat", "dog"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"name": "x"}', "no 'entries'"),
        (b'{"entries": 5}', "neither an object nor a list"),
        (b'{"entries": {"0": {"key": [], "content": "x"}}}', "no entry that could ever fire"),
        (b"[" * 200 + b"]" * 200, "nested deeper"),
    ],
)
def test_malformed_world_info_gives_one_clear_message(data, message):
    """Each broken file: one ContentError naming the file."""
    with pytest.raises(ContentError) as caught:
        import_world_info(data, "wi.json")
    assert caught.value.user_message.startswith("wi.json: ") and message in caught.value.user_message


def test_entries_are_added_to_a_world_file_and_replaced_on_reimport(tmp_path):
    """Adding keeps the world's own lore; importing the same book again replaces its entries, not adds."""
    world = tmp_path / "harbor.yaml"
    world.write_text(WORLD_YAML, encoding="utf-8")
    result = import_world_info(json.dumps(st_world_info()).encode(), "harbor.json")
    assert add_lore_to_world_file(world, result.entries) == (5, 0)
    assert add_lore_to_world_file(world, result.entries) == (5, 5)
    loaded = load_world_file(world)
    assert [e.id for e in loaded.lore] == ["mine", *[e.id for e in result.entries]]
    assert loaded.lore[1:] == result.entries


def test_an_invalid_world_file_is_not_written(tmp_path):
    """If the world does not validate, the file is left as it was."""
    world = tmp_path / "bad.yaml"
    world.write_text("name: Bad\n", encoding="utf-8")
    with pytest.raises(ContentError, match="bad.yaml"):
        add_lore_to_world_file(world, [LoreEntry(keys=["k"], content="c")])
    assert yaml.safe_load(world.read_text()) == {"name": "Bad"}
