"""``import-card``, ``export-card`` and ``import-lore``: character cards and World Info from the terminal.

Exit codes: 0 done, 2 the input (or a name, or a duplicate) is the problem, 1 the machine is (a file
cannot be written). Every failure is one line on stderr starting with ``error:``; nothing is written
when an import fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.cards import png
from bot.cards.api import export_card, import_card
from bot.cards.parse import MAX_FILE_BYTES
from bot.cards.store import (
    DuplicateCharacter,
    add_lore_to_world_file,
    find_character,
    save_character,
    to_yaml,
    write_atomic,
)
from bot.cards.worldinfo import import_world_info
from bot.content.loader import collect_problems, extra_cast_path, load_world_file
from bot.content.models import Character, World, slugify
from bot.errors import EnsembleError

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _default_characters_dir() -> Path:
    return Path(os.environ.get("CHARACTERS_DIR") or "characters")


def _default_worlds_dir() -> Path:
    return Path(os.environ.get("WORLDS_DIR") or "worlds")


EXTRA_CAST_HEADER = (
    "# Characters added to this world's cast by `python -m bot import-card --world`.\n"
    "# Kept apart from the world file, so editing or replacing the world keeps them; remove a line to\n"
    "# take a character out of the cast (its file in characters/ stays).\n"
)


def fit_to_world(character: Character, world: World) -> Character:
    """The character as a member of ``world``: a start place the world has (else the world's start), and
    relationships only toward the players and that world's cast (a card may come from another world)."""
    known = {loc.id for loc in world.locations}
    start = character.start_location if character.start_location in known else None
    relationships = {k: v for k, v in character.relationships.items() if k == "user" or k in world.cast}
    return character.model_copy(update={"start_location": start, "relationships": relationships})


def add_to_extra_cast(worlds_dir: Path, world_id: str, character_id: str) -> Path:
    """Append ``character_id`` to ``<worlds>/extra_cast/<world>.yaml`` (created on first use); its path."""
    path = extra_cast_path(worlds_dir, world_id)
    cast: list[str] = []
    if path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cast = [str(member) for member in data.get("cast", [])] if isinstance(data, dict) else []
    if character_id not in cast:
        cast.append(character_id)
    write_atomic(path, (EXTRA_CAST_HEADER + yaml.safe_dump({"cast": cast}, allow_unicode=True)).encode("utf-8"))
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-card``, ``export-card`` and ``import-lore``."""
    imp = subparsers.add_parser(
        "import-card",
        help="import a character card (JSON, PNG or CHARX; V1, V2 or V3) as a character file",
        description="Read a SillyTavern-style character card and write it as an Ensemble character file "
        "(<out>/<id>.yaml), with its picture as <out>/avatars/<id>.png.",
    )
    imp.add_argument("file", type=Path, help="the card file (.json, .png or .charx)")
    imp.add_argument("--out", type=Path, default=None,
                     help="the characters directory (default: $CHARACTERS_DIR or ./characters)")
    imp.add_argument("--on-duplicate", choices=("refuse", "rename"), default="refuse",
                     help="when the id or name is taken: refuse (default) or save as <id>-2 / '<Name> (2)'")
    imp.add_argument("--id", dest="character_id", default=None, help="the id (file name) to use instead of one "
                     "made from the name")
    imp.add_argument("--name", default=None, help="the display name to use instead of the card's")
    imp.add_argument("--world", default=None, metavar="ID",
                     help="also add the character to this world's cast (kept in <worlds>/extra_cast/ID.yaml, "
                     "which survives edits of the world file)")
    imp.add_argument("--worlds", type=Path, default=None,
                     help="the worlds directory (default: $WORLDS_DIR or ./worlds)")
    imp.add_argument("--avatar-base-url", default=None,
                     help="public URL where <out>/avatars/ is served; sets avatar_url "
                     "(default: $AVATAR_BASE_URL; without it the image is kept but avatar_url stays empty)")
    imp.set_defaults(func=_guarded(run_import_card))

    exp = subparsers.add_parser(
        "export-card",
        help="export a character as a Character Card V2 (JSON or PNG) that SillyTavern can read",
        description="Write a character as a V2 card. NAME is its id, file name or display name.",
    )
    exp.add_argument("name", metavar="NAME", help="the character's id, file name or display name")
    exp.add_argument("--format", choices=("json", "png"), default=None,
                     help="json or png (default: from --out's suffix, else json)")
    exp.add_argument("--out", type=Path, default=None, help="the file to write (default: ./<id>.json or ./<id>.png)")
    exp.add_argument("--characters", type=Path, default=None,
                     help="the characters directory (default: $CHARACTERS_DIR or ./characters)")
    exp.set_defaults(func=_guarded(run_export_card))

    lore = subparsers.add_parser(
        "import-lore",
        help="import a SillyTavern World Info (lorebook) JSON file as lore entries",
        description="Read World Info JSON (or a character_book, or a card that has one). With --world the "
        "entries are added to that world file (entries from the same book are replaced); without it "
        "they are printed as YAML.",
    )
    lore.add_argument("file", type=Path, help="the World Info .json file")
    lore.add_argument("--world", type=Path, default=None, help="the world YAML file to add the entries to")
    lore.set_defaults(func=_guarded(run_import_lore))


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn every failure into one line on stderr and an exit code; never a traceback."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except EnsembleError as exc:
            _error(exc.user_message)
            return EXIT_BAD_INPUT
        except OSError as exc:
            _error(f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}")
            return EXIT_FAILURE
        except Exception as exc:  # a bug: say so in one line rather than dump a traceback on the user
            _error(f"unexpected failure ({type(exc).__name__}: {exc}); please report it")
            return EXIT_FAILURE

    wrapper.__name__ = run.__name__
    return wrapper


def _error(message: str) -> None:
    print("error: " + " ".join(message.split()), file=sys.stderr)


def _read_input(path: Path) -> bytes | None:
    """The file's bytes, or None after printing why it cannot be read."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            _error(f"{path}: not a file")
            return None
        if size > MAX_FILE_BYTES:
            _error(f"{path}: the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            return None
        return path.read_bytes()
    except FileNotFoundError:
        _error(f"{path}: no such file")
    except OSError as exc:
        _error(f"{path}: cannot be read ({exc.strerror or exc})")
    return None


def run_import_card(args: argparse.Namespace) -> int:
    data = _read_input(args.file)
    if data is None:
        return EXIT_BAD_INPUT
    character_id = args.character_id
    if args.name and not character_id:
        character_id = slugify(args.name)
    imported = import_card(data, args.file.name, character_id=character_id)
    character = imported.character
    if args.name:
        try:
            character = Character.model_validate({**character.model_dump(), "name": args.name})
        except ValueError:
            _error(f"--name {args.name!r} is not a usable name (1 to 80 characters)")
            return EXIT_BAD_INPUT
    out_dir = args.out or _default_characters_dir()
    worlds_dir = args.worlds or _default_worlds_dir()
    world = None
    if args.world:
        world_file = worlds_dir / f"{args.world}.yaml"
        if not world_file.is_file():
            known = ", ".join(sorted(p.stem for p in worlds_dir.glob("*.yaml"))) or "none"
            _error(f"--world {args.world!r}: there is no {world_file} (worlds: {known}); nothing was written")
            return EXIT_BAD_INPUT
        world = load_world_file(world_file)
        character = fit_to_world(character, world)
    base_url = args.avatar_base_url or os.environ.get("AVATAR_BASE_URL") or None
    if base_url and not base_url.startswith(("http://", "https://")):
        _error(f"--avatar-base-url must be an http(s) URL, not {base_url!r}")
        return EXIT_BAD_INPUT
    try:
        saved = save_character(
            character, out_dir, avatar=imported.avatar, on_duplicate=args.on_duplicate, avatar_base_url=base_url
        )
    except DuplicateCharacter as exc:
        _error(
            f"{args.file.name}: {exc.user_message}; nothing was written. Re-run with --on-duplicate rename to "
            f"import it as {exc.suggested_id!r} named {exc.suggested_name!r}, or pick --id/--name yourself"
        )
        return EXIT_BAD_INPUT
    c = saved.character
    kind = {"chara_card_v1": "V1", "chara_card_v2": "V2", "chara_card_v3": "V3"}.get(imported.source_spec, "?")
    print(f"Imported {c.name!r} ({kind} card, {imported.container.upper()}) -> {saved.path}")
    print(f"  {len(c.greetings)} greeting(s), {len(c.voice.samples)} voice sample(s), {len(c.lore)} lore entr"
          f"{'y' if len(c.lore) == 1 else 'ies'}")
    if saved.renamed_from is not None:
        print(f"  renamed: the id or name was taken, so it is saved as id {c.id!r}, name {c.name!r}")
    if saved.avatar_path is None:
        print("  avatar: the card has no picture; avatar_url left empty")
    elif base_url:
        print(f"  avatar: {saved.avatar_path}, served as {c.avatar_url}")
    elif c.avatar_url:
        print(f"  avatar: saved to {saved.avatar_path}; avatar_url kept from the card: {c.avatar_url}")
    else:
        print(f"  avatar: saved to {saved.avatar_path}; avatar_url left empty (serve {saved.avatar_path.parent} "
              "publicly and pass --avatar-base-url URL to set it)")
    for warning in imported.warnings:
        print(f"  note: {warning}")
    if world is not None:
        cast_file = add_to_extra_cast(worlds_dir, world.id, c.id)
        print(f"  cast: joins {world.name} ({cast_file}); in play: /summon {c.name}")
        _, problems = collect_problems(out_dir, worlds_dir)
        for problem in problems:
            if problem.file in (saved.path, cast_file):
                print(f"  note: {problem}")
    return 0


def run_export_card(args: argparse.Namespace) -> int:
    directory = args.characters or _default_characters_dir()
    character, path = find_character(directory, args.name)
    fmt = args.format or ("png" if args.out is not None and args.out.suffix.lower() == ".png" else "json")
    out = args.out or Path(f"{character.id}.{fmt}")
    avatar = None
    notes = []
    if fmt == "png":
        avatar_path = path.parent / "avatars" / f"{character.id}.png"
        if avatar_path.is_file():
            avatar = avatar_path.read_bytes()
            try:
                png.read_chunks(avatar)
            except EnsembleError as exc:
                notes.append(f"{avatar_path} was not used ({exc.user_message}); a plain image carries the card")
                avatar = None
        else:
            notes.append(f"no avatar at {avatar_path}; a plain image carries the card")
    data = export_card(character, fmt, avatar=avatar)
    write_atomic(out, data, replace=True)
    print(f"Exported {character.name!r} ({path}) as a V2 {fmt.upper()} card -> {out}")
    for note in notes:
        print(f"  note: {note}")
    return 0


def run_import_lore(args: argparse.Namespace) -> int:
    data = _read_input(args.file)
    if data is None:
        return EXIT_BAD_INPUT
    result = import_world_info(data, args.file.name)
    if args.world is None:
        sys.stdout.write(to_yaml({"lore": [e.model_dump(mode="json", exclude_defaults=True) for e in result.entries]}))
        for warning in result.warnings:
            print(f"note: {warning}", file=sys.stderr)
        return 0
    if not args.world.is_file():
        _error(f"{args.world}: no such world file")
        return EXIT_BAD_INPUT
    had_comments = any(line.lstrip().startswith("#") for line in args.world.read_text(encoding="utf-8").splitlines())
    written, replaced = add_lore_to_world_file(args.world, result.entries)
    print(f"Added {written} lore entr{'y' if written == 1 else 'ies'} from {args.file.name} to {args.world}"
          + (f" (replacing {replaced} from an earlier import)" if replaced else ""))
    if had_comments:
        print("  note: the world file was re-written from its data, so its comments are gone")
    for warning in result.warnings:
        print(f"  note: {warning}")
    return 0
