"""``python -m bot bench ...``: the benchmarks, each printing a table and optionally writing JSON."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def _content_and_json(parser: argparse.ArgumentParser, name: str) -> None:
    """The options every benchmark shares: which content to play, and where to write its figures."""
    parser.add_argument("--characters", type=Path, default=Path("characters"))
    parser.add_argument("--worlds", type=Path, default=Path("worlds"))
    parser.add_argument("--json", nargs="?", const=f"bench-results/{name}.json", default=None,
                        help=f"write the figures as JSON (default path bench-results/{name}.json)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run a benchmark", description=__doc__)
    benches = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    benches.required = True

    engine = benches.add_parser(
        "engine",
        help="CPU and overhead per NPC reply: 1/10/100 scenes, growth, the floor, the play path",
        description="Per NPC reply: loop CPU, overhead and queueing, against a model server in another process.",
    )
    engine.add_argument("--quick", action="store_true", help="a small run (a smoke test, figures not meaningful)")
    engine.add_argument("--no-play", action="store_true", help="skip the scripted `play` subprocess measurement")
    engine.add_argument("--database-url", default=None, metavar="URL",
                        help="run on PostgreSQL: a fresh database per section on this server (its user needs CREATEDB)")
    _content_and_json(engine, "engine")
    engine.set_defaults(func=_engine)

    processes = benches.add_parser(
        "processes",
        help="replies per second with 1 and 2 sharded bot processes on one database (SQLite file or PostgreSQL)",
        description="Each bot process is a real sharded process (SHARD_COUNT/SHARD_IDS, leases, fenced commits) "
        "playing its own servers' scenes against the model server in another process; all start together when warm.",
    )
    processes.add_argument("--database-url", default=None, metavar="URL",
                           help="PostgreSQL server to run on (a fresh database per row; its user needs CREATEDB); "
                           "default one SQLite file per row")
    processes.add_argument("--counts", default="1,2", help="process counts, comma-separated (default 1,2)")
    processes.add_argument("--scenes", type=int, default=40, help="scenes per process (default 40)")
    processes.add_argument("--lines", type=int, default=12, help="measured player lines per scene (default 12)")
    processes.add_argument("--embeddings", default="off",
                           help="EMBEDDINGS for the bot processes (default off: the bundled embedder's CPU would "
                           "dominate; `auto` measures it)")
    _content_and_json(processes, "processes")
    processes.set_defaults(func=_processes)

    memory = benches.add_parser(
        "memory",
        help="recall of facts told hundreds of lines earlier, leaks, prompt size and stable prefix, through `play`",
        description="Plays the written scenes of bot/bench/data/memory/ through `python -m bot play` against the local "
        "model server in another process, and reads what each asked character was sent.",
    )
    memory.add_argument("--scenes", default="heldout,zh",
                        help="comma-separated: tune, heldout, heldout2, zh (default heldout,zh; tune is the half tuned on, heldout2 the second held-out scene)")
    memory.add_argument("--variants", default="ensemble,words-only",
                        help="comma-separated: ensemble (as shipped), words-only (EMBEDDINGS=off); default both")
    memory.add_argument("--steps", type=int, default=None, help="play only the first N steps (a smoke test)")
    memory.add_argument("--keep", type=Path, default=None, help="keep the databases and logs in this folder")
    _content_and_json(memory, "memory")
    memory.set_defaults(func=_memory)

    store = benches.add_parser("store", help="reset and rewind of long scenes, store time per reply early vs late vs crowded")
    store.add_argument("--turns", type=int, default=4000, help="turns of the scene that is reset and rewound (default 4000)")
    store.add_argument("--late", type=int, default=1000, help="the late turn the per-reply time is measured at (default 1000)")
    store.add_argument("--others", type=int, default=1000, help="other scenes stored for the crowded case (default 1000)")
    store.add_argument("--replies", type=int, default=40, help="replies measured per case (default 40)")
    store.add_argument("--world", default="harbor", help="world to play (default harbor)")
    _content_and_json(store, "store")
    store.set_defaults(func=_store)

    guard = benches.add_parser(
        "guard", help="CPU per reply of the live guard (every detector and the decision), no model call"
    )
    guard.add_argument("--dir", type=Path, default=Path("tests/quality/data/v2/tune"),
                       help="folder of transcripts whose NPC replies are checked (default the v2 tuning half)")
    guard.add_argument("--rounds", type=int, default=5, help="passes over the set; the first warms the caches (default 5)")
    guard.add_argument("--json", nargs="?", const="bench-results/guard.json", default=None,
                       help="write the figures as JSON (default path bench-results/guard.json)")
    guard.set_defaults(func=_guard)


def _engine(args: argparse.Namespace) -> int:
    from bot.bench.engine import report, run_engine_bench
    from bot.logs import configure_logging

    configure_logging("console", "WARNING")
    figures = run_engine_bench(
        characters_dir=args.characters, worlds_dir=args.worlds, quick=args.quick, play=not args.no_play,
        database_url=args.database_url,
    )
    report(figures, args.json)
    return 0


def _processes(args: argparse.Namespace) -> int:
    from bot.bench.processes import report, run_process_bench

    try:
        counts = [int(c) for c in args.counts.split(",") if c.strip()]
    except ValueError:
        raise SystemExit(f"bench processes: --counts must be numbers like 1,2, not {args.counts!r}") from None
    if not counts or min(counts) < 1:
        raise SystemExit("bench processes: --counts needs at least one count of 1 or more")
    figures = run_process_bench(
        characters_dir=args.characters.resolve(), worlds_dir=args.worlds.resolve(), database_url=args.database_url,
        counts=counts, scenes=args.scenes, lines=args.lines, embeddings=args.embeddings,
    )
    report(figures, args.json)
    return 0


def _memory(args: argparse.Namespace) -> int:
    from bot.bench.memory import SCENES, VARIANTS, report, run_memory_bench

    scenes = [s for s in args.scenes.split(",") if s]
    variants = [v for v in args.variants.split(",") if v]
    unknown = [s for s in scenes if s not in SCENES] + [v for v in variants if v not in VARIANTS]
    if unknown or not scenes or not variants:
        raise SystemExit(f"bench memory: unknown scene or variant {', '.join(unknown) or '(none given)'}")
    figures = run_memory_bench(
        scenes=scenes, variants=variants, steps=args.steps, characters_dir=args.characters, worlds_dir=args.worlds,
        keep=args.keep,
    )
    report(figures, args.json)
    return 0


def _store(args: argparse.Namespace) -> int:
    from bot.bench.store import report, run_store_bench
    from bot.logs import configure_logging

    configure_logging("console", "WARNING")
    figures = asyncio.run(
        run_store_bench(
            turns=args.turns, late=args.late, others=args.others, replies=args.replies, world_id=args.world,
            characters_dir=args.characters, worlds_dir=args.worlds,
        )
    )
    report(figures, args.json)
    return 0


def _guard(args: argparse.Namespace) -> int:
    from bot.bench.guard import report, run_guard_bench

    try:
        figures = run_guard_bench(args.dir, args.rounds)
    except ValueError as exc:  # no transcripts there: the default folder exists only in a checkout
        raise SystemExit(f"bench guard: {exc}; run it from a checkout or give --dir") from None
    report(figures, args.json)
    return 0
