"""Builders for card test data: SillyTavern-shaped cards, PNGs made in code, CHARX zips, World Info."""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(ctype: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def tiny_png(extra: bytes = b"") -> bytes:
    """A valid 1x1 RGB PNG; ``extra`` chunks go between IDAT and IEND."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x80\x00")
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + extra + chunk(b"IEND", b"")


def b64json(obj: Any) -> str:
    """Base64 of the UTF-8 JSON of ``obj``, as card chunks carry it."""
    return base64.b64encode(json.dumps(obj, ensure_ascii=False).encode("utf-8")).decode("ascii")


def text_chunk(keyword: str, text: str) -> bytes:
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\x00" + text.encode("latin-1"))


def png_with_text(*pairs: tuple[str, str]) -> bytes:
    """A 1x1 PNG with tEXt chunks (keyword, text), in order."""
    return tiny_png(b"".join(text_chunk(k, t) for k, t in pairs))


def st_book_entry(uid: int, keys: list[str], content: str, **changes: Any) -> dict[str, Any]:
    """A character_book entry as SillyTavern's exporter writes it (convertWorldInfoToCharacterBook)."""
    entry: dict[str, Any] = {
        "id": uid,
        "keys": keys,
        "secondary_keys": [],
        "comment": f"entry {uid}",
        "content": content,
        "constant": False,
        "selective": True,
        "insertion_order": 100,
        "enabled": True,
        "position": "before_char",
        "use_regex": False,
        "case_sensitive": None,
        "extensions": {
            "position": 0,
            "exclude_recursion": False,
            "display_index": uid,
            "probability": 100,
            "useProbability": True,
            "depth": 4,
            "selectiveLogic": 0,
            "group": "",
            "group_override": False,
            "group_weight": 100,
            "prevent_recursion": False,
            "delay_until_recursion": False,
            "scan_depth": None,
            "match_whole_words": None,
            "use_group_scoring": False,
            "case_sensitive": None,
            "automation_id": "",
            "role": 0,
            "vectorized": False,
            "sticky": 0,
            "cooldown": 0,
            "delay": 0,
        },
    }
    for key, value in changes.items():
        if key in entry["extensions"] and key not in entry:
            entry["extensions"][key] = value
        else:
            entry[key] = value
    return entry


def st_v2_card(**data_changes: Any) -> dict[str, Any]:
    """A V2 card as SillyTavern exports it: the V1 mirror and ST's own keys at the top, V2 under ``data``."""
    data: dict[str, Any] = {
        "name": "Seraphina",
        "description": "Seraphina is a guardian of the Eldoria forest. She heals travellers who lose their way.",
        "personality": "caring, protective, gentle, a little mischievous",
        "scenario": "{{user}} wakes up hurt in Seraphina's glade.",
        "first_mes": "*Seraphina kneels beside {{user}}.* Easy now. You took a bad fall.",
        "mes_example": (
            "<START>\n{{user}}: Who are you?\n{{char}}: *She smiles.* A friend of the forest.\n"
            "<START>\n{{user}}: Where am I?\n{{char}}: In my glade.\nYou are safe here.\n"
            "<START>\n{{char}}: *She hums while mixing herbs.*"
        ),
        "creator_notes": "Best with a slow-burn story.",
        "system_prompt": "{{original}}\nWrite Seraphina warmly.",
        "post_history_instructions": "{{original}} Stay in character.",
        "alternate_greetings": ["*A soft light fills the glade.* You're awake.", "Shh. Rest."],
        "character_book": {
            "name": "Eldoria",
            "entries": [
                st_book_entry(0, ["Eldoria", "forest"], "Eldoria is an ancient, enchanted forest."),
                st_book_entry(
                    1, ["shadow"], "Shadowfangs are corrupted wolves.",
                    secondary_keys=["wolf", "wolves"], selectiveLogic=3, probability=60,
                    match_whole_words=False, case_sensitive=True, insertion_order=50,
                ),
                st_book_entry(2, [], "The glade is always warm.", constant=True, enabled=False),
            ],
            "extensions": {},
        },
        "tags": ["fantasy", "healer"],
        "creator": "someone",
        "character_version": "1.2",
        "extensions": {
            "talkativeness": "0.6",
            "fav": False,
            "world": "Eldoria",
            "depth_prompt": {"prompt": "", "depth": 4, "role": "system"},
            "chub": {"full_path": "someone/seraphina", "id": 1234},
        },
    }
    data.update(data_changes)
    card: dict[str, Any] = {
        "name": data["name"],
        "description": data["description"],
        "personality": data["personality"],
        "scenario": data["scenario"],
        "first_mes": data["first_mes"],
        "mes_example": data["mes_example"],
        "creatorcomment": data["creator_notes"],
        "avatar": "none",
        "chat": "Seraphina - 2024-5-1 @12h 00m 00s 000ms",
        "talkativeness": "0.6",
        "fav": False,
        "tags": data["tags"],
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": data,
        "create_date": "2024-5-1 @12h 00m 00s 000ms",
    }
    return card


def st_v3_card(v2: dict[str, Any] | None = None, **v3_fields: Any) -> dict[str, Any]:
    """A V3 card: SillyTavern's ``ccv3`` chunk is the V2 object with the spec changed, plus V3 fields."""
    card = copy.deepcopy(v2 or st_v2_card())
    card["spec"] = "chara_card_v3"
    card["spec_version"] = "3.0"
    card["data"].update(v3_fields)
    return card


def st_png(card: dict[str, Any], *, v3: dict[str, Any] | None = None) -> bytes:
    """A PNG card as SillyTavern writes it: a ``chara`` chunk and (if given) a ``ccv3`` chunk."""
    pairs = [("chara", b64json(card))]
    if v3 is not None:
        pairs.append(("ccv3", b64json(v3)))
    return png_with_text(*pairs)


def charx(card: dict[str, Any] | None, files: dict[str, bytes] | None = None) -> bytes:
    """A CHARX zip: ``card.json`` (unless None) plus other files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        if card is not None:
            zf.writestr("card.json", json.dumps(card))
        for name, data in (files or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def st_world_info() -> dict[str, Any]:
    """A World Info file as SillyTavern saves it: ``entries`` keyed by uid."""

    def entry(uid: int, **fields: Any) -> dict[str, Any]:
        base = {
            "uid": uid, "key": [], "keysecondary": [], "comment": "", "content": "", "constant": False,
            "vectorized": False, "selective": True, "selectiveLogic": 0, "addMemo": True, "order": 100,
            "position": 0, "disable": False, "excludeRecursion": False, "preventRecursion": False,
            "delayUntilRecursion": False, "probability": 100, "useProbability": True, "depth": 4,
            "group": "", "groupOverride": False, "groupWeight": 100, "scanDepth": None, "caseSensitive": None,
            "matchWholeWords": None, "useGroupScoring": None, "automationId": "", "role": None,
            "sticky": 0, "cooldown": 0, "delay": 0, "displayIndex": uid,
        }
        base.update(fields)
        return base

    return {
        "name": "Old Harbor",
        "entries": {
            "0": entry(0, key=["harbor", "docks"], content="The harbor smells of tar and fish.", order=10),
            "1": entry(1, key=["smuggler"], keysecondary=["night", "boat"], selectiveLogic=1,
                       content="Smugglers land after midnight.", probability=25, caseSensitive=True),
            "2": entry(2, key=["lighthouse"], content="The lighthouse keeper is blind.", disable=True,
                       matchWholeWords=False, displayIndex=-1),
            "3": entry(3, constant=True, content="It always rains in Old Harbor.", selectiveLogic=2),
            "4": entry(4, key=["guild"], keysecondary=["tax"], selectiveLogic=3, selective=False,
                       content="The guild takes a tenth.", probability=10, useProbability=False),
            "5": entry(5, key=["empty"], content="   "),
            "6": entry(6, content="no keys and not constant"),
        },
    }


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli_process(args: list[str], cwd: Path, *, env: dict[str, str] | None = None) -> CliResult:
    """``python -m bot ARGS`` as a child process in ``cwd`` (this checkout on the import path)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environment.pop("CHARACTERS_DIR", None)
    environment.pop("AVATAR_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=environment, capture_output=True, text=True,
        timeout=180,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``python -m bot`` in this test's temporary directory."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        return run_cli_process(list(args), tmp_path, env=env)

    return run


def files_under(path: Path) -> set[str]:
    """Every file below ``path`` (relative names), to check that nothing was written."""
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}
