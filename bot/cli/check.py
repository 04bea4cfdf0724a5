"""``python -m bot check``: validate every world and character file and report all problems at once."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.content.loader import collect_problems
from bot.content.models import Character, World
from bot.settings import load_settings

SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "character.schema.json": Character,
    "world.schema.json": World,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="validate the world and character files",
        description=(
            "Validate every world and character file and print each problem as 'file: field: message'. "
            "Exits 1 if there is any problem."
        ),
    )
    parser.add_argument(
        "--characters",
        type=Path,
        default=None,
        metavar="DIR",
        help="check only this folder of character files (default: what the bot loads: the shipped "
        "characters, then CHARACTERS_DIR or ./characters)",
    )
    parser.add_argument(
        "--worlds",
        type=Path,
        default=None,
        metavar="DIR",
        help="check only this folder of world files (default: the shipped worlds, then WORLDS_DIR or ./worlds)",
    )
    parser.add_argument(
        "--schema-out",
        type=Path,
        metavar="DIR",
        help="also write character.schema.json and world.schema.json (JSON Schema for editors) into DIR",
    )
    parser.set_defaults(func=run)


def file_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of one content file, as an editor should apply it to the YAML an author writes."""
    schema = model.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    # Files may leave out ``id``: the loader takes it from the file name.
    required = [name for name in schema.get("required", []) if name != "id"]
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    # An exit may be written as a bare location id; a validator expands it, which the schema cannot see.
    location = schema.get("$defs", {}).get("Location")
    exit_def = schema.get("$defs", {}).get("Exit")
    if location is not None and exit_def is not None:
        exits = location["properties"]["exits"]
        shorthand = {**exit_def["properties"]["to"], "description": "shorthand for {to: <location id>}"}
        shorthand.pop("title", None)
        exits["items"] = {"anyOf": [exits["items"], shorthand]}
    return schema


def schema_documents() -> dict[str, str]:
    """File name -> text of each schema file, as ``--schema-out`` writes it and ``schemas/`` ships it."""
    return {
        name: json.dumps(file_schema(model), indent=2, ensure_ascii=False) + "\n"
        for name, model in SCHEMA_FILES.items()
    }


def write_schemas(directory: Path) -> list[Path]:
    """Write the schema files into ``directory`` (created if needed); return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def run(args: argparse.Namespace) -> int:
    """Check the content folders (and write schemas if asked); the exit code is 1 if anything is wrong."""
    if args.schema_out is not None:
        try:
            written = write_schemas(args.schema_out)
        except OSError as exc:
            print(
                f"{args.schema_out}: (directory): cannot write schemas: {exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        print("wrote " + ", ".join(str(path) for path in written))

    characters, worlds = load_settings().content_folders()
    library, problems = collect_problems(
        [args.characters] if args.characters is not None else characters,
        [args.worlds] if args.worlds is not None else worlds,
    )
    for problem in problems:
        print(problem)
    if problems:
        files = len({problem.file for problem in problems})
        print(f"{_plural(len(problems), 'problem')} in {_plural(files, 'file')}")
        return 1
    print(f"{_plural(len(library.worlds), 'world')}, {_plural(len(library.characters), 'character')} OK")
    return 0
