"""Read role-play transcripts for linting: Role-Play Bench dialogues and the bot's own ``/export``.

Two record shapes are read, as JSON Lines (one object per line; blank lines are skipped) or as one
JSON array of such objects:

**Role-Play Bench** (the public dialogue shape)::

    {"role": "ai" | "user", "text": str, "round": int, "speaker"?: str}

``"ai"`` lines are the NPC's; the optional ``speaker`` names the character (or the user).

**Ensemble export** (what ``/export`` writes, one line per message, in order)::

    {"kind": "user" | "npc" | "narration" | "ooc", "speaker": str, "text": str, "turn": int,
     "message_id"?: str | int, "ts"?: str (ISO 8601)}

``kind`` says who wrote the line: the user, an NPC (``speaker`` is the character's name), the
narrator (``speaker`` is the narrator's name), or an out-of-character note to the narrator that
characters do not hear (read, never linted). ``bot.engine.export`` writes this shape. ``turn`` is the scene's turn number; several lines may
share one turn (an NPC chain, narration). ``message_id`` is the platform message id and ``ts`` the
time it was posted; both are optional and only carried through.

A JSON object whose ``dialogue`` (or ``messages``) is a list of such records is accepted too, with
``ai_name``/``user_name`` from the Role-Play Bench seed taken as speaker names.

Unreadable input raises ``TranscriptError`` whose message names the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.errors import ContentError

Kind = Literal["user", "npc", "narration", "ooc"]


class TranscriptError(ContentError):
    """A transcript cannot be read; the message names the file and line (safe to print)."""


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One message of a transcript, normalised from either shape."""

    index: int  # position in the transcript, from 0
    kind: Kind
    speaker: str | None
    text: str
    turn: int
    line: int  # line number in the file (1-based; the array index + 1 for a JSON array)
    message_id: str | None = None
    ts: str | None = None
    labels: tuple[str, ...] | None = None  # a labelled set's detector names for this line; None: unlabelled


@dataclass(frozen=True, slots=True)
class Transcript:
    """A whole transcript: its lines and what shape they came in."""

    path: str
    format: Literal["rpbench", "export", "mixed"]
    lines: tuple[TranscriptLine, ...]
    ai_name: str | None = None
    user_name: str | None = None

    def npc_lines(self) -> Iterator[TranscriptLine]:
        return (line for line in self.lines if line.kind == "npc")

    @property
    def user_speakers(self) -> tuple[str, ...]:
        return _unique(line.speaker for line in self.lines if line.kind == "user" and line.speaker)

    @property
    def npc_speakers(self) -> tuple[str, ...]:
        return _unique(line.speaker for line in self.lines if line.kind == "npc" and line.speaker)


def _unique(items: Iterator[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return tuple(seen)


def read_transcript(path: str | Path) -> Transcript:
    """Read a transcript file (JSON Lines or a JSON array, either record shape)."""
    p = Path(path)
    name = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise TranscriptError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise TranscriptError(f"{name}: is a directory, not a transcript file") from None
    except OSError as exc:
        raise TranscriptError(f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TranscriptError(f"{name}:{line}: not UTF-8 text") from None
    return parse_transcript(text, name)


def parse_transcript(text: str, name: str = "<transcript>") -> Transcript:
    """Parse transcript text; ``name`` is used in error messages."""
    stripped = text.lstrip()
    if not stripped:
        raise TranscriptError(f"{name}: empty file, expected JSON Lines of transcript records")
    meta: dict[str, Any] = {}
    records: list[tuple[int, Any]]
    if stripped[0] in "[{" and _is_single_json(stripped):
        doc = json.loads(stripped)
        if isinstance(doc, dict):
            listed = doc.get("dialogue", doc.get("messages"))
            if isinstance(listed, list):
                meta = doc
                doc = listed
            else:
                doc = [doc]
        if not isinstance(doc, list):
            raise TranscriptError(f"{name}: expected a JSON array of records or JSON Lines")
        records = [(i + 1, rec) for i, rec in enumerate(doc)]
    else:
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise TranscriptError(
                    f"{name}:{number}: invalid JSON ({exc.msg}: column {exc.colno})"
                ) from None
    if not records:
        raise TranscriptError(f"{name}: no records")
    ai_name = _opt_str(meta.get("ai_name"))
    user_name = _opt_str(meta.get("user_name"))
    lines: list[TranscriptLine] = []
    shapes: set[str] = set()
    for number, rec in records:
        line, shape = _record(rec, name, number, len(lines), ai_name, user_name)
        shapes.add(shape)
        lines.append(line)
    fmt: Literal["rpbench", "export", "mixed"] = shapes.pop() if len(shapes) == 1 else "mixed"  # type: ignore[assignment]
    return Transcript(path=name, format=fmt, lines=tuple(lines), ai_name=ai_name, user_name=user_name)


def _is_single_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def _opt_str(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _record(
    rec: Any, name: str, number: int, index: int, ai_name: str | None, user_name: str | None
) -> tuple[TranscriptLine, str]:
    where = f"{name}:{number}"
    if not isinstance(rec, dict):
        raise TranscriptError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    text = rec.get("text")
    if not isinstance(text, str):
        raise TranscriptError(f'{where}: field "text" must be a string')
    speaker = rec.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise TranscriptError(f'{where}: field "speaker" must be a string')
    speaker = speaker.strip() if isinstance(speaker, str) and speaker.strip() else None
    labels = _labels(rec, where)
    if "kind" in rec:
        kind = rec["kind"]
        if kind not in ("user", "npc", "narration", "ooc"):
            raise TranscriptError(
                f'{where}: field "kind" must be "user", "npc", "narration" or "ooc", got {kind!r}'
            )
        turn = _int_field(rec, "turn", where)
        message_id = rec.get("message_id")
        ts = rec.get("ts")
        if ts is not None and not isinstance(ts, str):
            raise TranscriptError(f'{where}: field "ts" must be a string')
        return (
            TranscriptLine(
                index=index,
                kind=kind,
                speaker=speaker,
                text=text,
                turn=turn,
                line=number,
                message_id=None if message_id is None else str(message_id),
                ts=ts,
                labels=labels,
            ),
            "export",
        )
    if "role" in rec:
        role = rec["role"]
        if role not in ("ai", "user"):
            raise TranscriptError(f'{where}: field "role" must be "ai" or "user", got {role!r}')
        turn = _int_field(rec, "round", where)
        kind: Kind = "npc" if role == "ai" else "user"
        if speaker is None:
            speaker = ai_name if role == "ai" else user_name
        return TranscriptLine(
            index=index, kind=kind, speaker=speaker, text=text, turn=turn, line=number, labels=labels
        ), "rpbench"
    raise TranscriptError(
        f'{where}: not a transcript record: needs "role" (Role-Play Bench) or "kind" (Ensemble export)'
    )


def _labels(rec: dict[str, Any], where: str) -> tuple[str, ...] | None:
    """A labelled set's ``"labels"`` (detector names); ``None`` when the record has none."""
    if "labels" not in rec:
        return None
    value = rec["labels"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TranscriptError(f'{where}: field "labels" must be a list of strings')
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _int_field(rec: dict[str, Any], key: str, where: str) -> int:
    if key not in rec:
        raise TranscriptError(f'{where}: missing field "{key}"')
    value = rec[key]
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise TranscriptError(f'{where}: field "{key}" must be an integer')
    return value


def export_record(
    kind: Kind,
    speaker: str,
    text: str,
    turn: int,
    *,
    message_id: str | int | None = None,
    ts: str | None = None,
) -> str:
    """One line of the export format (what ``/export`` writes), without the trailing newline."""
    rec: dict[str, Any] = {"kind": kind, "speaker": speaker, "text": text, "turn": turn}
    if message_id is not None:
        rec["message_id"] = message_id
    if ts is not None:
        rec["ts"] = ts
    return json.dumps(rec, ensure_ascii=False)
