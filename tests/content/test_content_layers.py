"""Shipped content always loads; an operator's folders add to it or override it by id (their file wins)."""

from __future__ import annotations

import yaml

from bot.__main__ import main
from bot.content.loader import collect_problems, load_content
from bot.shipped import shipped_folder


def shipped() -> tuple:
    return shipped_folder("characters"), shipped_folder("worlds")


def test_an_operator_file_overrides_the_shipped_one_with_the_same_id(tmp_path) -> None:
    characters, worlds = shipped()
    mine = tmp_path / "characters"
    mine.mkdir()
    mira = yaml.safe_load((characters / "mira.yaml").read_text(encoding="utf-8"))
    mira["personality"] = "Loud and cheerful (the operator's Mira)."
    (mine / "mira.yaml").write_text(yaml.safe_dump(mira, allow_unicode=True), encoding="utf-8")
    library = load_content([characters, mine], [worlds])
    assert library.characters["mira"].personality == "Loud and cheerful (the operator's Mira)."
    assert set(library.worlds) == {"harbor", "jianghu"} and len(library.characters) == 8


def test_an_operator_world_may_cast_shipped_characters(tmp_path) -> None:
    characters, worlds = shipped()
    mine = tmp_path / "worlds"
    mine.mkdir()
    (mine / "cove.yaml").write_text(
        yaml.safe_dump({
            "name": "The Cove", "description": "A quiet cove.", "cast": ["mira"],
            "locations": [{"id": "drowned-steps", "name": "Drowned Steps", "description": "Wet stone."}],
        }),
        encoding="utf-8",
    )
    library, problems = collect_problems([characters], [worlds, mine])
    assert problems == [] and set(library.worlds) == {"harbor", "jianghu", "cove"}


def test_a_broken_override_is_reported_with_its_file(tmp_path) -> None:
    characters, worlds = shipped()
    mine = tmp_path / "characters"
    mine.mkdir()
    (mine / "pip.yaml").write_text("name: Pip\n", encoding="utf-8")
    _, problems = collect_problems([characters, mine], [worlds])
    assert problems and all(p.file == mine / "pip.yaml" for p in problems)


def test_check_from_an_empty_folder_checks_the_shipped_content(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("CHARACTERS_DIR", "WORLDS_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "2 worlds, 8 characters OK\n"


def test_a_content_folder_that_is_set_but_missing_is_a_problem(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORLDS_DIR", str(tmp_path / "typo"))
    monkeypatch.delenv("CHARACTERS_DIR", raising=False)
    assert main(["check"]) == 1
    assert f"{tmp_path / 'typo'}: (directory): no such directory" in capsys.readouterr().out
