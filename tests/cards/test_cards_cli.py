"""``python -m bot import-card / export-card / import-lore`` as child processes: exit codes, messages, files."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from bot.content.loader import load_character_file, load_world_file
from tests.cards.conftest import (
    files_under,
    png_with_text,
    run_cli_process,
    st_png,
    st_v2_card,
    st_world_info,
    tiny_png,
)
from tests.cards.test_cards_worldinfo import WORLD_YAML


def test_import_export_and_reimport_a_png_card(tmp_path, run_cli):
    """A PNG card imports with its avatar kept (no URL), exports as PNG, and re-imports the same character."""
    (tmp_path / "seraphina.png").write_bytes(st_png(st_v2_card()))
    first = run_cli("import-card", "seraphina.png", "--out", "characters")
    assert first.returncode == 0, first.stderr
    assert "Imported 'Seraphina' (V2 card, PNG) -> characters/seraphina.yaml" in first.stdout
    assert "avatar: saved to characters/avatars/seraphina.png; avatar_url left empty" in first.stdout
    assert "3 greeting(s), 3 voice sample(s), 3 lore entries" in first.stdout
    original = load_character_file(tmp_path / "characters" / "seraphina.yaml")

    exported = run_cli("export-card", "Seraphina", "--characters", "characters", "--out", "out.png")
    assert exported.returncode == 0, exported.stderr
    json_export = run_cli("export-card", "seraphina", "--characters", "characters")
    assert json_export.returncode == 0 and (tmp_path / "seraphina.json").is_file()
    assert json.loads((tmp_path / "seraphina.json").read_text())["spec"] == "chara_card_v2"

    again = run_cli("import-card", "out.png", "--out", "again", "--avatar-base-url", "https://cdn.example/a")
    assert again.returncode == 0, again.stderr
    reimported = load_character_file(tmp_path / "again" / "seraphina.yaml")
    assert reimported.avatar_url == "https://cdn.example/a/seraphina.png"
    assert reimported.model_copy(update={"avatar_url": None}) == original


def _deep_json() -> bytes:
    return b'{"name": "A", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"


MALFORMED = [
    ("truncated.png", st_png(st_v2_card())[:300], "truncated"),
    ("bad-base64.png", png_with_text(("chara", "@@@@")), "not valid base64"),
    ("bad-json.png", png_with_text(("chara", base64.b64encode(b'{"name": ').decode())), "not valid JSON"),
    ("bomb.json", _deep_json(), "nested deeper than 64 levels"),
    ("huge.json", b'{"name": "' + b"x" * (4 * 1024 * 1024 + 10) + b'"}', "string longer than 4 MiB"),
    ("noname.json", json.dumps({"spec": "chara_card_v2", "data": {"description": "d"}}).encode(), "has no name"),
    ("photo.png", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 50, "JPEG, not a PNG"),
    ("plain.png", tiny_png(), "no character card in it"),
]


def _run_malformed(case, root: Path):
    name, data, _ = case
    workdir = root / name.replace(".", "_")
    workdir.mkdir()
    (workdir / name).write_bytes(data)
    return run_cli_process(["import-card", name, "--out", "characters"], workdir), workdir


def test_each_malformed_input_exits_2_with_one_line_and_writes_nothing(tmp_path):
    """Truncated PNG, bad base64, bad JSON, JSON bombs, no name, a JPEG, a PNG without a card: exit 2."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: _run_malformed(case, tmp_path), MALFORMED))
    for (name, _, message), (result, workdir) in zip(MALFORMED, results, strict=True):
        assert result.returncode == 2, (name, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {name}: ") and message in lines[0], (name, lines)
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert not (workdir / "characters").exists(), name


def test_duplicates_are_refused_with_a_way_out_then_renamed(tmp_path, run_cli):
    """A second import is refused (exit 2, nothing written, says how to rename); --on-duplicate rename works."""
    (tmp_path / "s.json").write_text(json.dumps(st_v2_card()))
    assert run_cli("import-card", "s.json", "--out", "characters").returncode == 0
    before = files_under(tmp_path / "characters")
    refused = run_cli("import-card", "s.json", "--out", "characters")
    assert refused.returncode == 2
    assert "already exists" in refused.stderr and "--on-duplicate rename" in refused.stderr
    assert "'seraphina-2' named 'Seraphina (2)'" in refused.stderr
    assert files_under(tmp_path / "characters") == before
    renamed = run_cli("import-card", "s.json", "--out", "characters", "--on-duplicate", "rename")
    assert renamed.returncode == 0 and "seraphina-2.yaml" in renamed.stdout
    assert load_character_file(tmp_path / "characters" / "seraphina-2.yaml").name == "Seraphina (2)"


def test_missing_files_and_unknown_characters_exit_2(tmp_path, run_cli):
    """A card file that is not there, or a character that is not there, is one line and exit 2."""
    missing = run_cli("import-card", "nope.png")
    assert missing.returncode == 2 and missing.stderr == "error: nope.png: no such file\n"
    (tmp_path / "characters").mkdir()
    unknown = run_cli("export-card", "Nobody", "--characters", "characters")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no character 'Nobody'")


def test_import_lore_prints_yaml_or_adds_to_a_world(tmp_path, run_cli):
    """Without --world the entries are printed as YAML; with it they are added to the world file."""
    (tmp_path / "harbor.json").write_text(json.dumps(st_world_info()))
    printed = run_cli("import-lore", "harbor.json")
    assert printed.returncode == 0, printed.stderr
    assert len(yaml.safe_load(printed.stdout)["lore"]) == 5
    assert "2 entries with no content" in printed.stderr
    (tmp_path / "harbor.yaml").write_text(WORLD_YAML)
    added = run_cli("import-lore", "harbor.json", "--world", "harbor.yaml")
    assert added.returncode == 0, added.stderr
    assert "Added 5 lore entries" in added.stdout and "comments are gone" in added.stdout
    assert len(load_world_file(tmp_path / "harbor.yaml").lore) == 6
