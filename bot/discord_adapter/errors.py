"""What a Discord user is told when something fails: the domain message, or a short code that is logged."""

from __future__ import annotations

import structlog
from discord import app_commands

from bot.engine.scene import error_code, safe_message
from bot.errors import EnsembleError

log = structlog.get_logger("discord")


class NotAdmin(app_commands.CheckFailure):
    """The command needs the Manage Server permission."""


ADMIN_REFUSAL = "Only members with the **Manage Server** permission can use this command."


def user_text(exc: BaseException, **context: object) -> str:
    """The sentence to show for ``exc``; unexpected errors are logged with the same short code they show.

    Never a traceback: an ``EnsembleError`` carries its own safe message, anything else becomes
    "Something went wrong (E-XXXXXX)." and the log line with that code has the traceback.
    """
    original: BaseException = exc
    while isinstance(original, app_commands.CommandInvokeError) or (
        isinstance(original, app_commands.TransformerError) and original.__cause__ is not None
    ):
        original = original.original if isinstance(original, app_commands.CommandInvokeError) else original.__cause__  # type: ignore[assignment]
    if isinstance(original, NotAdmin):
        return ADMIN_REFUSAL
    if isinstance(original, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(original, app_commands.CheckFailure):
        return "You cannot use this command here."
    if isinstance(original, EnsembleError):
        return original.user_message
    log.error("discord.error", code=error_code(original), exc_info=original, **context)
    return safe_message(original)
