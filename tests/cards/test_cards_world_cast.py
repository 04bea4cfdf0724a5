"""``import-card --world``: the character joins a world's cast through an extra-cast file that survives world
edits, ``check`` validates it, and ``play`` offers and summons it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from cards.conftest import ROOT, files_under, run_cli_process, st_v2_card
from cli.conftest import bot_env, play

from bot.content.loader import collect_problems, load_content
from bot.testing.openai_server import ServerThread


def _content(tmp_path: Path) -> tuple[Path, Path]:
    characters, worlds = tmp_path / "characters", tmp_path / "worlds"
    shutil.copytree(ROOT / "characters", characters)
    shutil.copytree(ROOT / "worlds", worlds)
    return characters, worlds


def _import(tmp_path: Path, card: dict, *args: str):
    source = tmp_path / "card.json"
    source.write_text(json.dumps(card), encoding="utf-8")
    characters, worlds = tmp_path / "characters", tmp_path / "worlds"
    return run_cli_process(
        ["import-card", str(source), "--out", str(characters), "--worlds", str(worlds), *args], tmp_path
    )


def test_imported_card_joins_the_world_cast_and_survives_a_world_edit(tmp_path: Path):
    characters, worlds = _content(tmp_path)
    done = _import(tmp_path, st_v2_card(), "--world", "harbor")
    assert done.returncode == 0, done.stderr
    cast_file = worlds / "extra_cast" / "harbor.yaml"
    assert f"cast: joins Gannet's Reach ({cast_file}); in play: /summon Seraphina" in done.stdout
    assert yaml.safe_load(cast_file.read_text(encoding="utf-8")) == {"cast": ["seraphina"]}
    library = load_content(characters, worlds)
    assert [c.name for c in library.cast_of("harbor")][-1] == "Seraphina"
    assert library.find_character("harbor", "seraphina") is not None
    assert library.find_character("jianghu", "Seraphina") is None, "other worlds are not touched"

    # The world file is edited (as an author would, here re-written from its data): the import stays.
    world_file = worlds / "harbor.yaml"
    data = yaml.safe_load(world_file.read_text(encoding="utf-8"))
    data["description"] = "A fog-bound harbour, rewritten."
    world_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    again = load_content(characters, worlds)
    assert again.worlds["harbor"].description == "A fog-bound harbour, rewritten."
    assert "seraphina" in again.worlds["harbor"].cast
    assert again.worlds["harbor"].cast[: len(data["cast"])] == data["cast"]

    # A second card for the same world is appended; importing into an unknown world writes nothing.
    second = _import(tmp_path, st_v2_card(name="Bramble"), "--world", "harbor")
    assert second.returncode == 0, second.stderr
    assert yaml.safe_load(cast_file.read_text(encoding="utf-8")) == {"cast": ["seraphina", "bramble"]}
    before = files_under(tmp_path)
    refused = _import(tmp_path, st_v2_card(name="Nobody Here"), "--world", "atlantis")
    assert refused.returncode == 2 and "--world 'atlantis'" in refused.stderr
    assert files_under(tmp_path) == before


def test_extra_cast_problems_name_the_extra_cast_file(tmp_path: Path):
    """A member without a character file, or a cast for a world that does not exist, is reported there."""
    characters, worlds = _content(tmp_path)
    (worlds / "extra_cast").mkdir()
    (worlds / "extra_cast" / "harbor.yaml").write_text("cast: [mira, ghost-of-nobody]\n", encoding="utf-8")
    (worlds / "extra_cast" / "atlantis.yaml").write_text("cast: [mira]\n", encoding="utf-8")
    _, problems = collect_problems(characters, worlds)
    said = {(p.file.name, p.field) for p in problems}
    assert ("harbor.yaml", "cast[0]") in said and str(worlds / "extra_cast" / "harbor.yaml") in {str(p.file) for p in problems}
    assert ("atlantis.yaml", "(file)") in said
    assert all(p.file != worlds / "harbor.yaml" for p in problems), "the world file itself is fine"
    checked = run_cli_process(["check"], tmp_path, env={"CHARACTERS_DIR": str(characters), "WORLDS_DIR": str(worlds)})
    assert checked.returncode == 1 and "ghost-of-nobody" in checked.stdout + checked.stderr


def test_play_offers_and_summons_the_imported_character(tmp_path: Path):
    characters, worlds = _content(tmp_path)
    assert _import(tmp_path, st_v2_card(), "--world", "harbor").returncode == 0
    with ServerThread() as server:
        env = bot_env(server, tmp_path / "p.db", CHARACTERS_DIR=str(characters), WORLDS_DIR=str(worlds))
        result = play(env, "/summon Seraphina\n/cast\n", "--world", "harbor", "--user", "Ann")
    assert result.returncode == 0, result.stderr
    assert "The cast: Mira Salt, Old Tom Gannet, Captain Ysolde Vell, Pip, Seraphina." in result.stdout
    assert "[The Fog] Seraphina joins the scene at Lantern Quay." in result.stdout  # she starts where the world does
    assert "- Seraphina: here, at Lantern Quay;" in result.stdout
