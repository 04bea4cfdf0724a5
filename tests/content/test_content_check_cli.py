"""Tests of ``python -m bot check``: exit codes, the report of a broken tree, and the shipped schema files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.__main__ import main
from bot.cli.check import schema_documents


def run_check(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_check_passes_on_shipped_content(repo_root):
    """From the repository root, with default folders, the shipped content checks clean."""
    result = run_check(repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["2 worlds, 8 characters OK"]


def test_check_reports_every_problem_of_a_broken_copy(repo_root, shipped_copy, edit_yaml):
    """Several things broken at once: each is reported with file and field, and the exit code is 1."""
    characters, worlds = shipped_copy
    # A misspelled field (which also leaves the real field missing).
    edit_yaml(characters / "mira.yaml", lambda data: data.update(personalty=data.pop("personality")))
    # A missing required field.
    edit_yaml(characters / "pip.yaml", lambda data: data.pop("voice"))

    def break_harbor(data):
        data["locations"][0]["exits"].append("lighthouse-annex")  # an exit to an unknown place
        data["rulez"] = data.pop("rules")  # an invalid field keeps the model's own validator from running

    edit_yaml(worlds / "harbor.yaml", break_harbor)
    # A cast member with no file.
    edit_yaml(worlds / "jianghu.yaml", lambda data: data["cast"].append("ghost-monk"))
    # A YAML syntax error.
    old_tom = characters / "old-tom.yaml"
    old_tom.write_text(
        old_tom.read_text(encoding="utf-8").replace("talkativeness: 0.8", "talkativeness: [0.8"),
        encoding="utf-8",
    )

    result = run_check(repo_root, "--characters", str(characters), "--worlds", str(worlds))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    expected_prefixes = [
        f"{characters / 'mira.yaml'}: personality: missing required field",
        f"{characters / 'mira.yaml'}: personalty: unknown field (did you mean 'personality'?)",
        f"{characters / 'old-tom.yaml'}: line ",
        f"{characters / 'pip.yaml'}: voice: missing required field",
        f"{worlds / 'harbor.yaml'}: rulez: unknown field (did you mean 'rules'?)",
        f"{worlds / 'harbor.yaml'}: locations[0].exits[4].to: unknown location 'lighthouse-annex'",
        f"{worlds / 'jianghu.yaml'}: cast[4]: no character file {characters / 'ghost-monk.yaml'}",
    ]
    assert len(lines) == len(expected_prefixes) + 1, result.stdout
    for line, prefix in zip(lines, expected_prefixes, strict=False):
        assert line.startswith(prefix), (line, prefix)
    assert "YAML syntax error" in lines[2]
    assert lines[-1] == "7 problems in 5 files"


def test_check_writes_schemas(repo_root, tmp_path):
    """--schema-out writes both schema files, identical to the shipped ones."""
    out = tmp_path / "schemas"
    result = run_check(repo_root, "--schema-out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("character.schema.json", "world.schema.json"):
        assert (out / name).read_text(encoding="utf-8") == (repo_root / "schemas" / name).read_text(
            encoding="utf-8"
        )


def test_shipped_schemas_are_up_to_date(repo_root):
    """schemas/ holds exactly what the models generate now; regenerate with --schema-out schemas."""
    shipped = {path.name: path.read_text(encoding="utf-8") for path in (repo_root / "schemas").glob("*.json")}
    assert shipped == schema_documents(), "run: python -m bot check --schema-out schemas"


def test_schema_does_not_demand_an_id_and_accepts_exit_shorthand():
    """Editors validating a file must accept what the loader accepts: no id, and bare exit ids."""
    import json

    documents = {name: json.loads(text) for name, text in schema_documents().items()}
    for document in documents.values():
        assert "id" in document["properties"] and "id" not in document["required"]
    exit_items = documents["world.schema.json"]["$defs"]["Location"]["properties"]["exits"]["items"]
    assert {"$ref": "#/$defs/Exit"} in exit_items["anyOf"]
    assert any(option.get("type") == "string" for option in exit_items["anyOf"])


def test_check_in_process_reports_missing_folders(tmp_path, capsys):
    """Missing folders are problems with exit code 1, not a traceback."""
    code = main(["check", "--characters", str(tmp_path / "c"), "--worlds", str(tmp_path / "w")])
    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'c'}: (directory): no such directory",
        f"{tmp_path / 'w'}: (directory): no such directory",
        "2 problems in 2 files",
    ]


def test_check_in_process_counts_singular(tmp_path, capsys, write_yaml):
    """The summary counts in plain words: one world, one character."""
    write_yaml(
        tmp_path / "w" / "solo.yaml",
        {
            "name": "Solo",
            "description": "One room.",
            "cast": ["one"],
            "locations": [{"id": "room", "name": "Room", "description": "Bare."}],
        },
    )
    write_yaml(
        tmp_path / "c" / "one.yaml",
        {
            "name": "One",
            "description": "Alone.",
            "personality": "Quiet.",
            "voice": {"style": "Terse.", "samples": [{"user": "Hi.", "character": "Hm."}]},
        },
    )
    assert main(["check", "--characters", str(tmp_path / "c"), "--worlds", str(tmp_path / "w")]) == 0
    assert capsys.readouterr().out == "1 world, 1 character OK\n"
