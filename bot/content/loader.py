"""Load characters and worlds from YAML folders, reporting every problem at once with its file and field."""

from __future__ import annotations

import difflib
import re
import types
import typing
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.content.models import Character, Location, Slug, Strict, World
from bot.errors import ContentError, NotFound

__all__ = [
    "CONTENT_SUFFIXES",
    "EXTRA_CAST_DIR",
    "ContentProblems",
    "ExtraCast",
    "Library",
    "Problem",
    "collect_problems",
    "extra_cast_path",
    "load_character_file",
    "load_content",
    "load_world_file",
]

# ``.yml`` is loaded too: ignoring it would silently drop a file an author meant to ship.
CONTENT_SUFFIXES = (".yaml", ".yml")
USER_KEY = "user"
FILE_FIELD = "(file)"
DIRECTORY_FIELD = "(directory)"
# Characters added to a world's cast without editing the world file (``import-card --world``):
# ``<worlds>/extra_cast/<world id>.yaml`` with ``cast: [ids]``. Editing or replacing the world file
# keeps them; the loader appends them to the world's cast and checks them like cast members.
EXTRA_CAST_DIR = "extra_cast"

_SLUG_PATTERN = Character.model_fields["id"].metadata[0].pattern
_PLAIN_SEGMENT = re.compile(r"[\w-]+")
# A model-level validator names the offending field at the start of its message ("locations[2].id: ...").
_PATH_PREFIX = re.compile(
    r"(?P<path>(?P<head>[A-Za-z_]\w*)(?:\[\d+\]|\.[A-Za-z_]\w*)*): (?P<message>.+)", re.S
)

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a content file: where (file, dotted field path) and what."""

    file: Path
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class ContentProblems(ContentError):
    """A ``ContentError`` that also carries its problems as data; the message lists one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def _fold(text: str) -> str:
    """Comparison form of a name: NFKC (full-width letters become ASCII), case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass
class Library:
    """Everything that loaded: characters and worlds by id, with lookups by what players type."""

    characters: dict[str, Character] = field(default_factory=dict)
    worlds: dict[str, World] = field(default_factory=dict)
    # Characters a server imported (``/character import``): (guild, world) -> character ids. They join
    # that server's cast of the world and no other server's.
    guild_cast: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add_guild_character(self, guild_id: str, world_id: str, character: Character) -> None:
        self.characters[character.id] = character
        cast = self.guild_cast.setdefault((guild_id, world_id), [])
        if character.id not in cast:
            cast.append(character.id)

    def world(self, world_id: str) -> World:
        """The world with this id; ``NotFound`` if none loaded."""
        try:
            return self.worlds[world_id]
        except KeyError:
            known = ", ".join(sorted(self.worlds)) or "none"
            raise NotFound(f"There is no world called {world_id!r} (known worlds: {known}).") from None

    def cast_of(self, world_id: str, guild_id: str | None = None) -> list[Character]:
        """The world's cast in the order the world lists it (members whose file did not load are left out),
        then, for a server, the characters that server imported."""
        ids = [*self.world(world_id).cast, *self.guild_cast.get((guild_id, world_id), [])] if guild_id else self.world(world_id).cast
        return [self.characters[cid] for cid in ids if cid in self.characters]

    def find_character(self, world_id: str, name_or_alias: str, guild_id: str | None = None) -> Character | None:
        """The cast member called this (name, then alias, then id), ignoring case and width; else None."""
        return _best_match(self.cast_of(world_id, guild_id), name_or_alias)

    def find_location(self, world_id: str, name_or_alias_or_id: str) -> Location | None:
        """The world's place called this (name, then alias, then id), ignoring case and width; else None."""
        return _best_match(self.world(world_id).locations, name_or_alias_or_id)


_Named = TypeVar("_Named", Character, Location)


def _best_match(items: Sequence[_Named], query: str) -> _Named | None:
    """The first item whose name, else alias, else id (dashes read as spaces) equals the query when folded."""
    wanted = _fold(query)
    if not wanted:
        return None
    for labels in (
        lambda item: [item.name],
        lambda item: item.aliases,
        lambda item: [item.id, item.id.replace("-", " ").replace("_", " ")],
    ):
        for item in items:
            if any(_fold(label) == wanted for label in labels(item)):
                return item
    return None


# --- reading YAML -------------------------------------------------------------------------------------------


class _StrictSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` (no arbitrary objects) that records duplicate keys, which YAML resolves silently."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[Any, yaml.Mark, yaml.Mark]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_seen: dict[Any, yaml.Mark] = {}
        for key_node, _value_node in node.value:
            # A merge key (``<<: *base``) is meant to be overridden, so it is not a duplicate.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                earlier = first_seen.get(key)
            except TypeError:
                continue  # unhashable key: the base constructor reports it with its position
            if earlier is None:
                first_seen[key] = key_node.start_mark
            else:
                self.duplicate_keys.append((key, key_node.start_mark, earlier))
        return super().construct_mapping(node, deep=deep)


def _where(mark: yaml.Mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _read_mapping(path: Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The file's top-level mapping, or None with the reasons it could not be had."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(path, FILE_FIELD, f"cannot read the file: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8-sig")  # tolerate the BOM some Windows editors write
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [
            Problem(
                path, f"line {line}", f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
            )
        ]
    loader = None
    try:
        # The reader checks for forbidden characters already while being constructed.
        loader = _StrictSafeLoader(text)
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        return None, [Problem(path, _where(mark) if mark else FILE_FIELD, message)]
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return None, [
            Problem(
                path, f"line {line}", f"YAML cannot contain the character U+{exc.character:04X}; remove it"
            )
        ]
    except yaml.YAMLError as exc:
        return None, [Problem(path, FILE_FIELD, f"YAML error: {exc}")]
    except ValueError as exc:
        # PyYAML raises a bare ValueError for values that look like dates but are not (2024-13-45).
        return None, [Problem(path, FILE_FIELD, f"YAML value error: {exc}")]
    except RecursionError:
        return None, [Problem(path, FILE_FIELD, "YAML error: the document is nested too deeply")]
    finally:
        if loader is not None:
            loader.dispose()
    problems = [
        Problem(
            path,
            str(key),
            f"duplicate key on line {mark.line + 1} (first on line {first.line + 1}); "
            "YAML would silently keep only the last value",
        )
        for key, mark, first in loader.duplicate_keys
    ]
    if data is None:
        problems.append(
            Problem(path, FILE_FIELD, "the file is empty; expected a mapping of fields (name: ...)")
        )
        return None, problems
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        problems.append(
            Problem(path, FILE_FIELD, f"the top level must be a mapping of fields (key: value), not {kind}")
        )
        return None, problems
    return data, problems


# --- pydantic errors as problems ----------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (the model in a union, if any); other annotations unchanged."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        models = [arg for arg in typing.get_args(annotation) if _is_model(arg)]
        if models:
            return models[0]
        rest = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that validates the value at ``loc`` under ``root``, if that value is a model."""
    current: Any = root
    for part in loc:
        if _is_model(current):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            origin = typing.get_origin(current)
            args = typing.get_args(current)
            if origin in (list, tuple, set, frozenset) and args:
                current = args[0]
            elif origin is dict and len(args) == 2:
                current = args[1]
            else:
                return None
        current = _unwrap(current)
    return current if _is_model(current) else None


def _format_loc(loc: Iterable[str | int]) -> str:
    """``('locations', 2, 'exits', 0, 'to')`` -> ``locations[2].exits[0].to`` (the models' own convention)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_SEGMENT.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _join_path(base: str, tail: str) -> str:
    if not base:
        return tail
    return f"{base}{tail}" if tail.startswith("[") else f"{base}.{tail}"


def _problem_from_error(path: Path, root: type[BaseModel], error: Any) -> Problem:
    loc = list(error["loc"])
    kind = error["type"]
    message = error["msg"]
    bad_key = loc[-1] == "[key]" if loc else False
    if bad_key:
        # The key itself is invalid; pydantic's loc shows False as 0, so name the key by its real value.
        loc[-2:] = [str(error["input"])] if len(loc) >= 2 else []
    where = _format_loc(loc)
    if kind in ("value_error", "assertion_error"):
        cause = error.get("ctx", {}).get("error")
        message = str(cause) if cause is not None else message.removeprefix("Value error, ")
        match = _PATH_PREFIX.fullmatch(message)
        owner = _model_at(root, loc)
        if match and owner is not None and match["head"] in owner.model_fields:
            where = _join_path(where, match["path"])
            message = match["message"]
    elif kind == "extra_forbidden":
        owner = _model_at(root, loc[:-1])
        allowed = list(owner.model_fields) if owner is not None else []
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.7)
        if guess:
            message = f"unknown field (did you mean {guess[0]!r}?)"
        elif allowed:
            message = f"unknown field (allowed here: {', '.join(allowed)})"
        else:
            message = "unknown field"
    elif kind == "missing":
        message = "missing required field"
    elif kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == _SLUG_PATTERN:
        message = (
            f"{error['input']!r} is not a valid id: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit, at most 64 characters"
        )
    if bad_key and isinstance(error["input"], bool):
        message = (
            f"the key {error['input']!r} is not text: YAML reads unquoted yes/no/on/off/true/false as "
            "booleans, so quote it"
        )
    elif bad_key:
        message = f"the key {error['input']!r} is invalid: {message}"
    return Problem(path, where or FILE_FIELD, message)


def _validate(model: type[ModelT], data: dict[str, Any], path: Path) -> tuple[ModelT | None, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem_from_error(path, model, error) for error in exc.errors(include_url=False)]


# --- one file -----------------------------------------------------------------------------------------------


def _did_you_mean(value: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or nothing when none is close."""
    guess = difflib.get_close_matches(value, list(options), n=1, cutoff=0.7)
    return f" (did you mean {guess[0]!r}?)" if guess else ""


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _with_id(path: Path, data: dict[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The data with ``id`` taken from the file name; a different ``id`` in the file is a problem."""
    stem = path.stem
    given = data.get("id")
    problems = []
    if given is not None and given != stem:
        problems.append(
            Problem(
                path,
                "id",
                f"id {given!r} does not match the file name {stem!r}; remove it or rename the file",
            )
        )
    # Validate with the stem so the file's other problems are still reported under the right id.
    return {**data, "id": stem}, problems


def _world_reference_problems(path: Path, data: dict[str, Any]) -> list[Problem]:
    """Every broken in-file reference of a world, read from the raw data.

    ``World``'s own validator stops at the first broken reference and does not run at all while any field is
    invalid; reading the raw data finds all of them in one pass. Fields use the validator's convention so
    that its report of the same problem can be recognised by field and dropped.
    """
    problems: list[Problem] = []
    locations = _items(data.get("locations"))
    first_index: dict[str, int] = {}
    for index, location in enumerate(locations):
        loc_id = _text(location.get("id")) if isinstance(location, dict) else None
        if loc_id is None:
            continue
        if loc_id in first_index:
            problems.append(
                Problem(
                    path,
                    f"locations[{index}].id",
                    f"duplicate location id {loc_id!r} (first at locations[{first_index[loc_id]}])",
                )
            )
        else:
            first_index[loc_id] = index
    known = ", ".join(first_index) or "none"

    def check_location(where: str, value: Any) -> None:
        target = _text(value)
        if target is not None and target not in first_index:
            problems.append(
                Problem(
                    path,
                    where,
                    f"unknown location {target!r}{_did_you_mean(target, first_index)} (known: {known})",
                )
            )

    two_way: dict[frozenset[str], tuple[str, bool, bool]] = {}
    names: dict[str, str] = {}
    for index, location in enumerate(locations):
        if not isinstance(location, dict):
            continue
        here = _text(location.get("id"))
        for exit_index, exit_ in enumerate(_items(location.get("exits"))):
            spec = {"to": exit_} if isinstance(exit_, str) else exit_
            if not isinstance(spec, dict):
                continue
            where = f"locations[{index}].exits[{exit_index}].to"
            target = _text(spec.get("to"))
            if target is None:
                continue
            if target == here:
                problems.append(Problem(path, where, "an exit to itself"))
                continue
            check_location(where, target)
            if here is None or target not in first_index or spec.get("one_way") is True:
                continue
            # Two-way exits may be written on both sides; if so the two declarations must agree.
            flags = (spec.get("locked") is True, spec.get("audible") is True)
            pair = frozenset((here, target))
            if pair in two_way and two_way[pair][1:] != flags:
                problems.append(
                    Problem(
                        path,
                        f"locations[{index}].exits[{exit_index}]",
                        f"the two-way exit between {here!r} and {target!r} is also declared at "
                        f"{two_way[pair][0]} with different locked/audible settings; declare it once",
                    )
                )
            two_way.setdefault(pair, (f"locations[{index}].exits[{exit_index}]", *flags))
        # Location names and aliases must be unambiguous or "go to the pier" could mean two places.
        labels = [("name", location.get("name"))] + [
            (f"aliases[{i}]", alias) for i, alias in enumerate(_items(location.get("aliases")))
        ]
        for sub_field, label in labels:
            text = _text(label)
            if not text:
                continue
            folded = _fold(text)
            where = f"locations[{index}].{sub_field}"
            if folded in names and not names[folded].startswith(f"locations[{index}]."):
                problems.append(Problem(path, where, f"{text!r} already names {names[folded]}"))
            names.setdefault(folded, where)

    check_location("user_start", data.get("user_start"))
    for index, seed in enumerate(_items(data.get("event_seeds"))):
        if isinstance(seed, dict):
            check_location(f"event_seeds[{index}].location", seed.get("location"))
    cast = [_text(member) for member in _items(data.get("cast"))]
    repeated = sorted({member for member in cast if member and cast.count(member) > 1})
    if repeated:
        problems.append(Problem(path, "cast", f"a character is listed twice: {', '.join(repeated)}"))
    return problems


def _check_character(path: Path, data: dict[str, Any]) -> tuple[Character | None, list[Problem]]:
    data, problems = _with_id(path, data)
    character, invalid = _validate(Character, data, path)
    return character, problems + invalid


def _check_world(path: Path, data: dict[str, Any]) -> tuple[World | None, list[Problem]]:
    data, problems = _with_id(path, data)
    references = _world_reference_problems(path, data)
    reported = {problem.field for problem in references}
    try:
        return World.model_validate(data), problems + references
    except ValidationError as exc:
        invalid = []
        for error in exc.errors(include_url=False):
            problem = _problem_from_error(path, World, error)
            # World's own validator (loc ``()``) reports the first of the same broken references again.
            if not error["loc"] and problem.field in reported:
                continue
            invalid.append(problem)
        return None, problems + invalid + references


@dataclass
class _Read:
    """One file as read: its raw mapping (if it parsed), what validated (if it did), and its own problems."""

    path: Path
    data: dict[str, Any] | None
    item: Any
    problems: list[Problem]


def _read_file(
    path: Path, check: typing.Callable[[Path, dict[str, Any]], tuple[Any, list[Problem]]]
) -> _Read:
    data, problems = _read_mapping(path)
    item = None
    if data is not None:
        item, more = check(path, data)
        problems += more
    return _Read(path, data, item if not problems else None, problems)


def _load_one(
    path: Path, check: typing.Callable[[Path, dict[str, Any]], tuple[ModelT | None, list[Problem]]]
) -> ModelT:
    read = _read_file(path, check)
    if read.item is None:
        raise ContentProblems(read.problems)
    return read.item


def load_character_file(path: Path) -> Character:
    """One character file, validated on its own (id = file stem); ``ContentError`` lists every problem."""
    return _load_one(Path(path), _check_character)


def load_world_file(path: Path) -> World:
    """One world file, validated on its own (id = file stem); ``ContentError`` lists every problem."""
    return _load_one(Path(path), _check_world)


# --- folders and cross-file checks --------------------------------------------------------------------------


def _content_files(directory: Path, problems: list[Problem]) -> list[Path]:
    if not directory.exists():
        problems.append(Problem(directory, DIRECTORY_FIELD, "no such directory"))
        return []
    if not directory.is_dir():
        problems.append(Problem(directory, DIRECTORY_FIELD, "not a directory"))
        return []
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        problems.append(
            Problem(directory, DIRECTORY_FIELD, f"cannot list the directory: {exc.strerror or exc}")
        )
        return []
    return sorted(
        (p for p in entries if p.suffix in CONTENT_SUFFIXES and not p.name.startswith(".")),
        key=lambda p: (p.stem, CONTENT_SUFFIXES.index(p.suffix), p.name),
    )


def _read_folder(
    directory: Path,
    kind: str,
    check: typing.Callable[[Path, dict[str, Any]], tuple[Any, list[Problem]]],
    problems: list[Problem],
    seen: list[Path],
) -> dict[str, _Read]:
    """Every file of a folder by id (the first file wins an id; later ones get a problem)."""
    found: dict[str, _Read] = {}
    for path in _content_files(directory, problems):
        seen.append(path)
        if path.stem in found:
            problems.append(
                Problem(path, "id", f"the {kind} id {path.stem!r} is already used by {found[path.stem].path}")
            )
            continue
        found[path.stem] = _read_file(path, check)
    return found


def _names_of(data: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(kind, text) for a character's display name and aliases, from its raw data."""
    if data is None:
        return []
    out = [("name", text) for text in [_text(data.get("name"))] if text]
    out += [("alias", text) for text in map(_text, _items(data.get("aliases"))) if text]
    return out


def _cast_problems(world: _Read, characters: dict[str, _Read], characters_dir: Path) -> list[Problem]:
    """A world's cast: every member has a file, no two answer to the same name, seeds name only members."""
    data = world.data or {}
    problems: list[Problem] = []
    seen_names: dict[str, tuple[str, str]] = {}
    for index, member in enumerate(map(_text, _items(data.get("cast")))):
        if not member:
            continue
        if member not in characters:
            expected = characters_dir / f"{member}.yaml"
            problems.append(Problem(world.path, f"cast[{index}]", f"no character file {expected}"))
            continue
        for kind, text in _names_of(characters[member].data):
            other = seen_names.setdefault(_fold(text), (member, kind))
            if other[0] != member:
                problems.append(
                    Problem(
                        world.path,
                        f"cast[{index}]",
                        f"{member!r} has the {kind} {text!r}, which is also the {other[1]} of {other[0]!r}; "
                        "players could not tell them apart",
                    )
                )
    cast = {member for member in map(_text, _items(data.get("cast"))) if member}
    for index, seed in enumerate(_items(data.get("event_seeds"))):
        if not isinstance(seed, dict):
            continue
        for member_index, member in enumerate(map(_text, _items(seed.get("characters")))):
            if member and member not in cast:
                problems.append(
                    Problem(
                        world.path,
                        f"event_seeds[{index}].characters[{member_index}]",
                        f"{member!r} is not in this world's cast",
                    )
                )
    return problems


def _character_problems(
    character_id: str,
    character: _Read,
    characters: dict[str, _Read],
    worlds: dict[str, _Read],
    casts: dict[str, list[str]],
) -> list[Problem]:
    """A character against the worlds that cast it: start location and relationship targets."""
    data = character.data or {}
    problems: list[Problem] = []
    in_worlds = [world_id for world_id, cast in casts.items() if character_id in cast]
    start = _text(data.get("start_location"))
    for world_id in in_worlds:
        world_data = worlds[world_id].data or {}
        locations = [
            loc_id
            for loc_id in (
                _text(loc.get("id")) for loc in _items(world_data.get("locations")) if isinstance(loc, dict)
            )
            if loc_id
        ]
        if start and locations and start not in locations:
            problems.append(
                Problem(
                    character.path,
                    "start_location",
                    f"{start!r} is not a location of world {world_id!r}{_did_you_mean(start, locations)}, "
                    f"whose cast includes this character (its locations: {', '.join(locations)})",
                )
            )
    relationships = data.get("relationships")
    if not isinstance(relationships, dict):
        return problems
    companions = {member for world_id in in_worlds for member in casts[world_id]} - {character_id}
    # A cast member without a file is already reported on its world; only members with files are offered.
    offered = sorted(member for member in companions if member in characters)
    for key in relationships:
        if not isinstance(key, str) or key == USER_KEY or key in companions:
            continue
        if key == character_id:
            message = "a character cannot have a relationship with itself"
        elif not in_worlds:
            if key in characters:
                continue
            message = (
                f"unknown relationship target {key!r}{_did_you_mean(key, characters)}: "
                f"use {USER_KEY!r} or a character id"
            )
        elif key in characters:
            message = (
                f"{key!r} is not in the cast of any world with this character "
                f"({', '.join(in_worlds)}); a relationship needs them to meet"
            )
        else:
            choices = ", ".join(offered) or "none"
            message = (
                f"unknown relationship target {key!r}{_did_you_mean(key, [*offered, USER_KEY])}: "
                f"use {USER_KEY!r} or a cast member of {', '.join(in_worlds)} ({choices})"
            )
        problems.append(Problem(character.path, _format_loc(["relationships", key]), message))
    return problems


def _cross_file_problems(
    characters: dict[str, _Read], worlds: dict[str, _Read], characters_dir: Path
) -> list[Problem]:
    """Problems that only show when files are read together (worlds first, then characters)."""
    problems: list[Problem] = []
    casts: dict[str, list[str]] = {}
    for world_id, world in worlds.items():
        if world.data is None:
            continue
        casts[world_id] = [member for member in map(_text, _items(world.data.get("cast"))) if member]
        problems += _cast_problems(world, characters, characters_dir)
    for character_id, character in characters.items():
        if character.data is not None:
            problems += _character_problems(character_id, character, characters, worlds, casts)
    return problems


Folders = Path | str | Sequence[Path | str]


def _layers(folders: Folders) -> list[Path]:
    return [Path(folders)] if isinstance(folders, Path | str) else [Path(f) for f in folders]


def _read_layers(
    folders: list[Path],
    kind: str,
    check: typing.Callable[[Path, dict[str, Any]], tuple[Any, list[Problem]]],
    problems: list[Problem],
    seen: list[Path],
) -> dict[str, _Read]:
    """Each folder in order; a later folder's file replaces an earlier one with the same id."""
    merged: dict[str, _Read] = {}
    for folder in folders:
        merged.update(_read_folder(folder, kind, check, problems, seen))
    return merged


class ExtraCast(Strict):
    """``<worlds>/extra_cast/<world id>.yaml``: characters that join that world's cast."""

    cast: list[Slug]


def extra_cast_path(worlds_dir: Path, world_id: str) -> Path:
    """Where a world's extra cast is kept."""
    return Path(worlds_dir) / EXTRA_CAST_DIR / f"{world_id}.yaml"


def _merge_extra_casts(
    worlds_dir: Path, worlds: dict[str, _Read], problems: list[Problem], seen: list[Path]
) -> dict[str, tuple[Path, int]]:
    """Append each extra cast to its world (raw data and model); world id -> (file, own cast length)."""
    folder = worlds_dir / EXTRA_CAST_DIR
    if not folder.is_dir():
        return {}
    origins: dict[str, tuple[Path, int]] = {}
    for path in _content_files(folder, problems):
        seen.append(path)
        data, read_problems = _read_mapping(path)
        problems += read_problems
        extra, invalid = _validate(ExtraCast, data, path) if data is not None else (None, [])
        problems += invalid
        if extra is None:
            continue
        world = worlds.get(path.stem)
        if world is None:
            known = ", ".join(sorted(worlds)) or "none"
            problems.append(Problem(path, FILE_FIELD, f"there is no world {path.stem!r} for this extra cast (worlds: {known})"))
            continue
        if world.data is None:
            continue
        own = [member for member in _items(world.data.get("cast"))]
        added = [member for member in dict.fromkeys(extra.cast) if member not in own]
        origins[path.stem] = (path, len(own))
        world.data["cast"] = [*own, *added]
        if world.item is not None:
            world.item = world.item.model_copy(update={"cast": [*world.item.cast, *added]})
    return origins


_CAST_FIELD = re.compile(r"cast\[(?P<index>\d+)\](?P<rest>.*)")


def _extra_cast_origin(
    problems: list[Problem], worlds: dict[str, _Read], extras: dict[str, tuple[Path, int]]
) -> list[Problem]:
    """Problems with an extra cast member point at the extra cast file, not at the world file."""
    paths = {worlds[world_id].path: origin for world_id, origin in extras.items()}
    moved = []
    for problem in problems:
        origin = paths.get(problem.file)
        match = _CAST_FIELD.fullmatch(problem.field) if origin else None
        if origin and match and int(match["index"]) >= origin[1]:
            problem = Problem(origin[0], f"cast[{int(match['index']) - origin[1]}]{match['rest']}", problem.message)
        moved.append(problem)
    return moved


def collect_problems(characters_dir: Folders, worlds_dir: Folders) -> tuple[Library, list[Problem]]:
    """Read both folders (or lists of folders, later ones overriding earlier ids, e.g. the shipped
    content then an operator's); return what loaded and every problem found (never raises for bad content)."""
    character_folders, world_folders = _layers(characters_dir), _layers(worlds_dir)
    characters_dir = character_folders[-1]
    problems: list[Problem] = []
    seen: list[Path] = []
    characters = _read_layers(character_folders, "character", _check_character, problems, seen)
    worlds = _read_layers(world_folders, "world", _check_world, problems, seen)
    for read in [*characters.values(), *worlds.values()]:
        problems += read.problems
    extras: dict[str, tuple[Path, int]] = {}
    for folder in world_folders:  # an extra cast may sit beside the shipped worlds or the operator's
        extras.update(_merge_extra_casts(folder, worlds, problems, seen))
    problems += _extra_cast_origin(_cross_file_problems(characters, worlds, characters_dir), worlds, extras)

    # Group by file (characters first, in folder order) while keeping each file's problems in found order.
    order = {path: index for index, path in enumerate(seen)}
    problems.sort(key=lambda problem: order.get(problem.file, -1))
    library = Library(
        characters={cid: read.item for cid, read in characters.items() if read.item is not None},
        worlds={wid: read.item for wid, read in worlds.items() if read.item is not None},
    )
    return library, problems


def load_content(characters_dir: Folders, worlds_dir: Folders) -> Library:
    """Load both folders; ``ContentError`` (a ``ContentProblems``) lists every problem if there is any."""
    library, problems = collect_problems(characters_dir, worlds_dir)
    if problems:
        raise ContentProblems(problems)
    return library
