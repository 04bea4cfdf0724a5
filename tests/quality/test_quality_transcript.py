"""Reading transcripts: both record shapes, JSON Lines or an array, and clear errors with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.quality.transcript import TranscriptError, export_record, parse_transcript, read_transcript

DATA = Path(__file__).parent / "data"


def test_reads_role_play_bench_lines() -> None:
    t = read_transcript(DATA / "planted_en.jsonl")
    assert t.format == "rpbench"
    assert t.lines[0].kind == "user" and t.lines[0].speaker == "Alex" and t.lines[0].turn == 1
    assert t.npc_speakers == ("Mira", "Bob") and t.user_speakers == ("Alex",)


def test_reads_export_lines_with_ids_and_times() -> None:
    t = read_transcript(DATA / "planted_zh.jsonl")
    assert t.format == "export"
    assert t.lines[0].kind == "narration"
    assert t.lines[1].message_id == "1001" and t.lines[1].ts == "2026-01-01T20:01:00Z"


def test_reads_a_json_array() -> None:
    t = read_transcript(DATA / "clean_zh.json")
    assert t.format == "export" and len(t.lines) == 10 and t.lines[2].line == 3


def test_reads_a_seed_object_with_dialogue() -> None:
    doc = {
        "id": "x1",
        "ai_name": "Mira",
        "user_name": "Alex",
        "dialogue": [
            {"role": "user", "text": "Hi", "round": 1},
            {"role": "ai", "text": "Hello.", "round": 1},
        ],
    }
    t = parse_transcript(json.dumps(doc))
    assert [line.speaker for line in t.lines] == ["Alex", "Mira"]


def test_export_record_round_trips() -> None:
    line = export_record("npc", "Mira", "Hello.", 3, message_id=42, ts="2026-01-01T00:00:00Z")
    (parsed,) = parse_transcript(line).lines
    assert (parsed.kind, parsed.speaker, parsed.text, parsed.turn, parsed.message_id) == (
        "npc",
        "Mira",
        "Hello.",
        3,
        "42",
    )


def test_blank_lines_are_skipped_and_string_rounds_accepted() -> None:
    text = '{"role": "user", "text": "Hi", "round": "1"}\n\n{"role": "ai", "text": "Hello.", "round": 1}\n'
    t = parse_transcript(text)
    assert [line.line for line in t.lines] == [1, 3] and t.lines[0].turn == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "t.jsonl: empty file"),
        ('{"role": "ai", "text": "a", "round": 1}\n{"role": "ai", "text": "b"\n', "t.jsonl:2: invalid JSON"),
        ('{"role": "ai", "text": "a", "round": 1}\n[1, 2]\n', "t.jsonl:2: expected a JSON object"),
        ('{"role": "ai", "round": 1}\n', 't.jsonl:1: field "text" must be a string'),
        ('{"role": "bot", "text": "a", "round": 1}\n', 't.jsonl:1: field "role" must be "ai" or "user"'),
        ('{"role": "ai", "text": "a"}\n', 't.jsonl:1: missing field "round"'),
        ('{"role": "ai", "text": "a", "round": 1.5}\n', 't.jsonl:1: field "round" must be an integer'),
        ('{"kind": "npc", "speaker": "M", "text": "a"}\n', 't.jsonl:1: missing field "turn"'),
        ('{"kind": "bot", "speaker": "M", "text": "a", "turn": 1}\n', 't.jsonl:1: field "kind"'),
        (
            '{"kind": "npc", "speaker": 3, "text": "a", "turn": 1}\n',
            't.jsonl:1: field "speaker" must be a string',
        ),
        ('{"text": "a", "turn": 1}\n', "t.jsonl:1: not a transcript record"),
        ("[]", "t.jsonl: no records"),
        ('"just a string"', "t.jsonl:1: expected a JSON object, got str"),
        ('{"dialogue": 3}', 't.jsonl:1: field "text" must be a string'),
    ],
)
def test_unreadable_input_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TranscriptError) as err:
        read_transcript(path)
    assert err.value.user_message.replace(str(tmp_path) + "/", "").startswith(message)


def test_missing_file_directory_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="no such file"):
        read_transcript(tmp_path / "nope.jsonl")
    with pytest.raises(TranscriptError, match="is a directory"):
        read_transcript(tmp_path)
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(
        b'{"role": "ai", "text": "ok", "round": 1}\n{"role": "ai", "text": "caf\xe9", "round": 2}\n'
    )
    with pytest.raises(TranscriptError, match=r"latin1.jsonl:2: not UTF-8"):
        read_transcript(bad)


def test_reads_what_the_engine_export_writes() -> None:
    """The engine's /export output (including out-of-character notes) is read as it is written."""
    export = pytest.importorskip("bot.engine.export")
    records = [
        {
            "kind": "user",
            "speaker": "Alex",
            "text": "Hi there.",
            "turn": 1,
            "message_id": "9",
            "ts": "2026-01-01T00:00:00+00:00",
        },
        {
            "kind": "ooc",
            "speaker": "Alex",
            "text": "make it rain",
            "turn": 1,
            "message_id": "10",
            "ts": "2026-01-01T00:00:01+00:00",
        },
        {
            "kind": "npc",
            "speaker": "Mira",
            "text": '"Hello," Mira says.',
            "turn": 1,
            "message_id": "11",
            "ts": "2026-01-01T00:00:02+00:00",
        },
    ]
    t = parse_transcript(export.to_jsonl(records))
    assert [line.kind for line in t.lines] == ["user", "ooc", "npc"]
    assert [line.speaker for line in t.npc_lines()] == ["Mira"]
