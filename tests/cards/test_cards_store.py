"""Character files: YAML that the content loader reads back, atomic writes, duplicates, avatars."""

from __future__ import annotations

import pytest

from bot.cards.api import import_card
from bot.cards.mapping import card_to_character
from bot.cards.store import (
    DuplicateCharacter,
    character_yaml,
    find_character,
    save_character,
    write_atomic,
)
from bot.content.loader import load_character_file
from bot.errors import ContentError, NotFound
from tests.cards.conftest import files_under, st_png, st_v2_card, tiny_png


def seraphina():
    return card_to_character(st_v2_card()).character


def test_yaml_loads_back_through_the_content_loader(tmp_path):
    """The written file is a valid character file for the loader and equals the imported character."""
    character = seraphina()
    path = tmp_path / f"{character.id}.yaml"
    path.write_text(character_yaml(character), encoding="utf-8")
    assert load_character_file(path) == character


def test_awkward_text_survives_yaml():
    """Text YAML finds awkward (NEL, line separators, tabs, quotes, '#', leading '-') loads back the same."""
    text = "a\x85b\u2028c\td 'q' \"dq\" # not a comment\n- not a list\n: colon\n\n  indented"
    character = card_to_character({"name": "Odd", "description": text, "first_mes": text}).character
    import yaml

    assert yaml.safe_load(character_yaml(character))["description"] == character.description


def test_multiline_text_is_written_as_a_literal_block():
    """Descriptions with newlines stay readable in the file."""
    assert "description: |" in character_yaml(card_to_character({"name": "A", "description": "one\ntwo"}).character)


def test_save_writes_the_file_and_the_avatar_without_a_url(tmp_path):
    """A PNG card's picture is saved next to the file; with no base URL avatar_url stays empty."""
    card = import_card(st_png(st_v2_card()), "s.png")
    saved = save_character(card.character, tmp_path, avatar=card.avatar)
    assert saved.path == tmp_path / "seraphina.yaml"
    assert saved.avatar_path == tmp_path / "avatars" / "seraphina.png"
    assert saved.avatar_path.read_bytes() == card.avatar
    assert saved.character.avatar_url is None
    assert load_character_file(saved.path) == saved.character


def test_save_sets_avatar_url_from_a_base_url(tmp_path):
    """With a public base URL the character points at its served avatar."""
    saved = save_character(seraphina(), tmp_path, avatar=tiny_png(), avatar_base_url="https://cdn.example/av/")
    assert saved.character.avatar_url == "https://cdn.example/av/seraphina.png"


def test_duplicate_id_is_refused_and_nothing_is_written(tmp_path):
    """A second import of the same card is refused; no avatar or temp file is left behind."""
    save_character(seraphina(), tmp_path)
    before = files_under(tmp_path)
    with pytest.raises(DuplicateCharacter) as caught:
        save_character(seraphina(), tmp_path, avatar=tiny_png())
    assert caught.value.suggested_id == "seraphina-2" and caught.value.suggested_name == "Seraphina (2)"
    assert "already exists" in caught.value.user_message
    assert files_under(tmp_path) == before


def test_duplicate_display_name_is_refused_even_with_another_id(tmp_path):
    """Same name under another id (any case, full-width letters, or an alias) still counts as a duplicate."""
    (tmp_path / "someone.yaml").write_text("name: Ｓｅｒａｐｈｉｎａ\naliases: [Healer]\n", encoding="utf-8")
    with pytest.raises(DuplicateCharacter, match="name 'Seraphina'"):
        save_character(seraphina(), tmp_path)
    healer = card_to_character({"name": "healer"}).character
    with pytest.raises(DuplicateCharacter):
        save_character(healer, tmp_path)


def test_rename_picks_the_next_free_id_and_name(tmp_path):
    """on_duplicate='rename' saves as id-2 / 'Name (2)', then id-3 / 'Name (3)'."""
    save_character(seraphina(), tmp_path)
    second = save_character(seraphina(), tmp_path, on_duplicate="rename")
    third = save_character(seraphina(), tmp_path, on_duplicate="rename")
    assert (second.character.id, second.character.name) == ("seraphina-2", "Seraphina (2)")
    assert (third.character.id, third.character.name) == ("seraphina-3", "Seraphina (3)")
    assert second.renamed_from == "Seraphina"
    assert load_character_file(third.path).name == "Seraphina (3)"


def test_rename_keeps_the_name_when_only_the_id_clashes(tmp_path):
    """If only the id is taken, the display name stays."""
    (tmp_path / "seraphina.yaml").write_text("name: Somebody Else\n", encoding="utf-8")
    saved = save_character(seraphina(), tmp_path, on_duplicate="rename")
    assert (saved.character.id, saved.character.name) == ("seraphina-2", "Seraphina")


def test_write_atomic_without_replace_never_clobbers(tmp_path):
    """A new-file write refuses an existing file and leaves no temporary file."""
    target = tmp_path / "x.yaml"
    target.write_text("original")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new", replace=False)
    assert target.read_text() == "original" and files_under(tmp_path) == {"x.yaml"}


def test_find_character_by_id_file_name_and_display_name(tmp_path):
    """Export finds a character by id, file name, or display name in any letter case."""
    save_character(seraphina(), tmp_path)
    for name in ("seraphina", "seraphina.yaml", "SERAPHINA"):
        character, path = find_character(tmp_path, name)
        assert character.id == "seraphina" and path.name == "seraphina.yaml"
    with pytest.raises(NotFound, match="no character 'nobody'"):
        find_character(tmp_path, "nobody")


def test_find_character_reports_an_invalid_file(tmp_path):
    """A character file that does not validate is a ContentError naming the file."""
    (tmp_path / "broken.yaml").write_text("name: Broken\n", encoding="utf-8")
    with pytest.raises(ContentError, match="broken.yaml"):
        find_character(tmp_path, "broken")


def test_a_failed_character_write_removes_the_avatar_it_wrote(tmp_path, monkeypatch):
    """If the YAML cannot be written, the avatar written just before is removed: no half import."""
    from bot.cards import store

    real = store.write_atomic

    def failing(path, data, *, replace=True):
        if path.suffix == ".yaml":
            raise OSError(28, "No space left on device")
        real(path, data, replace=replace)

    monkeypatch.setattr(store, "write_atomic", failing)
    with pytest.raises(OSError):
        save_character(seraphina(), tmp_path, avatar=tiny_png())
    assert files_under(tmp_path) == set()
