"""Character files on disk: write a character YAML and its avatar atomically, find and load characters.

Nothing is half-written: each file is written to a temporary file in the same directory and moved
into place (``os.link`` for a new file, so an existing one is never overwritten by accident;
``os.replace`` where replacing is meant). The character file is written last; if that fails, an
avatar written for it is removed again.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from bot.content.loader import load_character_file
from bot.content.models import Character, World
from bot.errors import ContentError, NotFound

MAX_CONTENT_FILE_BYTES = 20 * 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")
DuplicatePolicy = Literal["refuse", "rename"]


class DuplicateCharacter(ContentError):
    """A character with this id or name already exists; carries what a rename would choose."""

    def __init__(self, user_message: str, *, existing: Path, suggested_id: str, suggested_name: str) -> None:
        super().__init__(user_message)
        self.existing = existing
        self.suggested_id = suggested_id
        self.suggested_name = suggested_name


@dataclass(frozen=True, slots=True)
class SavedCharacter:
    """Where a character was written, and under which id and name (after a rename, if any)."""

    character: Character
    path: Path
    avatar_path: Path | None
    renamed_from: str | None = None
    """The card's own name when ``on_duplicate="rename"`` had to change it, else None."""


# ---------------------------------------------------------------- YAML


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line text as literal blocks, so descriptions stay readable."""


_BREAKS_PYYAML_QUOTES = re.compile("[\x85\u2028\u2029]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # PyYAML writes U+0085 (NEL) raw inside single quotes and then reads it back as a line break;
    # double quotes escape it. Other text with newlines reads best as a literal block.
    if _BREAKS_PYYAML_QUOTES.search(value):
        style: str | None = '"'
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    """YAML text for plain data (dicts, lists, text, numbers), keys in the given order."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def character_yaml(character: Character) -> str:
    """The YAML file text for a character (defaults left out; ``id`` always written)."""
    data = character.model_dump(mode="json", exclude_defaults=True)
    data = {"id": character.id, **{k: v for k, v in data.items() if k != "id"}}
    return to_yaml(data)


def _read_yaml(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_CONTENT_FILE_BYTES:
            raise ContentError(f"{path}: the file is larger than 20 MiB")
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(f"{path}: cannot be read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: is not valid YAML ({str(exc).splitlines()[0]})") from exc


def _validation_message(path: Path, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(file)"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}: {where}: {first['msg']}{more}"


# ---------------------------------------------------------------- atomic writes


def _temp_file(directory: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_atomic(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` all at once. With ``replace=False`` an existing file raises FileExistsError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_file(path.parent, data)
    try:
        if replace:
            os.replace(temp, path)
            return
        try:
            os.link(temp, path)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then move (a small race, but no loss)
            if path.exists():
                raise FileExistsError(str(path)) from None
            os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


# ---------------------------------------------------------------- finding characters


def _character_files(directory: Path) -> Iterator[Path]:
    if not directory.is_dir():
        return
    for path in sorted(directory.iterdir()):
        if path.suffix in YAML_SUFFIXES and path.is_file() and not path.name.startswith("."):
            yield path


def fold_name(text: str) -> str:
    """Comparison form of a name (as the content loader compares them): NFKC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True, slots=True)
class _Existing:
    id: str
    name: str
    names: frozenset[str]
    """The folded name and aliases."""
    path: Path


def existing_characters(directory: Path) -> list[_Existing]:
    """Every character file in ``directory`` (read leniently: an unreadable file still holds its id)."""
    found = []
    for path in _character_files(directory):
        try:
            data = _read_yaml(path)
        except ContentError:
            data = None
        data = data if isinstance(data, dict) else {}
        name = data.get("name") if isinstance(data.get("name"), str) else ""
        aliases = data.get("aliases") if isinstance(data.get("aliases"), list) else []
        names = frozenset(fold_name(n) for n in [name, *aliases] if isinstance(n, str) and n.strip())
        found.append(_Existing(path.stem, name.strip(), names, path))
    return found


def find_character(directory: Path, name_or_id: str) -> tuple[Character, Path]:
    """The character whose id, file stem or display name (any letter case) is ``name_or_id``."""
    wanted = name_or_id.strip()
    candidates = existing_characters(directory)
    for item in candidates:
        if wanted in (item.id, item.path.name):
            return load_character_file(item.path), item.path
    matches = [item.path for item in candidates if fold_name(wanted) in item.names]
    if len(matches) > 1:
        raise NotFound(f"{len(matches)} characters in {directory} are named {wanted!r}; give the id instead")
    if matches:
        return load_character_file(matches[0]), matches[0]
    raise NotFound(f"no character {wanted!r} in {directory} (give its id, file name or display name)")


# ---------------------------------------------------------------- saving


def _clash(char_id: str, name: str, taken: list[_Existing]) -> tuple[Path | None, str]:
    """The file that clashes with this id or name (None if neither is taken), and what clashes."""
    for item in taken:
        if item.id == char_id:
            return item.path, "id"
        if fold_name(name) in item.names:
            return item.path, "name"
    return None, ""


def _renamed(character: Character, taken: list[_Existing]) -> tuple[str, str]:
    """The first ``id-N`` / ``Name (N)`` pair (N >= 2) that clashes with nothing."""
    base_id = character.id[:60].rstrip("-_") or "c"
    name_clash = any(fold_name(character.name) in item.names for item in taken)
    base_name = re.sub(r" \(\d+\)$", "", character.name)[:74]
    for n in range(2, 10_000):
        new_id = f"{base_id}-{n}"
        new_name = f"{base_name} ({n})" if name_clash else character.name
        if _clash(new_id, new_name, taken)[0] is None:
            return new_id, new_name
    raise ContentError("cannot find a free name for the character")  # pragma: no cover


def save_character(
    character: Character,
    directory: Path,
    *,
    avatar: bytes | None = None,
    on_duplicate: DuplicatePolicy = "refuse",
    avatar_base_url: str | None = None,
) -> SavedCharacter:
    """Write ``<directory>/<id>.yaml`` (and ``<directory>/avatars/<id>.png`` when there is an avatar).

    A character whose id or display name is already used in ``directory`` is refused
    (:class:`DuplicateCharacter`) or, with ``on_duplicate="rename"``, saved as ``<id>-N`` /
    ``<Name> (N)``. ``avatar_url`` is set to ``<avatar_base_url>/<id>.png`` only when a base URL is
    given (the deployment serves that directory); otherwise the image is kept and the URL left empty.
    """
    directory = Path(directory)
    taken = existing_characters(directory)
    clash, what = _clash(character.id, character.name, taken)
    renamed_from = None
    if clash is not None:
        new_id, new_name = _renamed(character, taken)
        if on_duplicate != "rename":
            raise DuplicateCharacter(
                f"a character with the {what} {character.id if what == 'id' else character.name!r} "
                f"already exists ({clash})",
                existing=clash,
                suggested_id=new_id,
                suggested_name=new_name,
            )
        renamed_from = character.name
        character = _with(character, id=new_id, name=new_name)
    avatar_path = directory / "avatars" / f"{character.id}.png" if avatar else None
    if avatar_path is not None and avatar_base_url:
        url = f"{avatar_base_url.rstrip('/')}/{character.id}.png"
        character = _with(character, avatar_url=url)
    path = directory / f"{character.id}.yaml"
    text = character_yaml(character).encode("utf-8")
    wrote_avatar = False
    try:
        if avatar_path is not None and avatar is not None:
            write_atomic(avatar_path, avatar, replace=True)
            wrote_avatar = True
        write_atomic(path, text, replace=False)
    except FileExistsError:
        if wrote_avatar and avatar_path is not None:
            avatar_path.unlink(missing_ok=True)
        raise ContentError(f"{path} appeared while importing; nothing was written") from None
    except BaseException:
        if wrote_avatar and avatar_path is not None:
            avatar_path.unlink(missing_ok=True)
        raise
    return SavedCharacter(character, path, avatar_path, renamed_from)


def _with(character: Character, **changes: Any) -> Character:
    """A validated copy of the character with some fields changed."""
    try:
        return Character.model_validate({**character.model_dump(), **changes})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ContentError(f"{where}: {first['msg']}") from exc


# ---------------------------------------------------------------- world lore


def add_lore_to_world_file(path: Path, entries: list[Any]) -> tuple[int, int]:
    """Add lore entries to a world's YAML file; an entry whose id is already there replaces it.

    Returns (entries written, old entries they replaced). The world is validated before anything is written. Comments in the
    file are not kept (YAML is re-written from data).
    """
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ContentError(f"{path}: a world file must be a mapping of fields")
    lore = data.get("lore") or []
    if not isinstance(lore, list):
        raise ContentError(f"{path}: lore must be a list")
    new_ids = {e.id for e in entries if e.id is not None}
    kept = [item for item in lore if not (isinstance(item, dict) and item.get("id") in new_ids)]
    replaced = len(lore) - len(kept)
    data["lore"] = kept + [e.model_dump(mode="json", exclude_defaults=True) for e in entries]
    try:
        World.model_validate({"id": path.stem, **data})
    except ValidationError as exc:
        raise ContentError(_validation_message(path, exc)) from exc
    write_atomic(path, to_yaml(data).encode("utf-8"), replace=True)
    return len(entries), replaced
