"""Command-line subcommands of ``python -m bot``; each module registers one subcommand.

A module in ``COMMANDS`` exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a callable ``(args) -> int`` (the exit code).
"""

COMMANDS: tuple[str, ...] = (
    "bot.cli.check",
    "bot.cli.play",
    "bot.cli.bench",
    "bot.cli.stats",
    "bot.cli.cards",
    "bot.cli.lint",
    "bot.cli.run",
    "bot.cli.eval",
    "bot.cli.score",
    "bot.cli.preferences",
    "bot.cli.migrate_db",
)
