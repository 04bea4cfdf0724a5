"""What a Discord user is told when something fails: the domain message, or a short code that is logged."""

from __future__ import annotations

import structlog
from discord import app_commands

from bot.engine.limits import BudgetSpent
from bot.engine.scene import error_code
from bot.errors import EnsembleError
from bot.i18n import tr

log = structlog.get_logger("discord")


class NotAdmin(app_commands.CheckFailure):
    """The command needs the Manage Server permission."""


ADMIN_REFUSAL = tr("en", "discord.admin_only")


def user_text(exc: BaseException, language: str = "en", **context: object) -> str:
    """The sentence to show for ``exc``; unexpected errors are logged with the same short code they show.

    Never a traceback: an ``EnsembleError`` carries its own safe message, anything else becomes
    "Something went wrong (E-XXXXXX)." (in ``language``) and the log line with that code has the traceback.
    """
    original: BaseException = exc
    while isinstance(original, app_commands.CommandInvokeError) or (
        isinstance(original, app_commands.TransformerError) and original.__cause__ is not None
    ):
        original = original.original if isinstance(original, app_commands.CommandInvokeError) else original.__cause__  # type: ignore[assignment]
    if isinstance(original, NotAdmin):
        return tr(language, "discord.admin_only")
    if isinstance(original, app_commands.NoPrivateMessage):
        return tr(language, "discord.guild_only")
    if isinstance(original, app_commands.CheckFailure):
        return tr(language, "discord.not_here")
    if isinstance(original, BudgetSpent):
        return tr(language, "limits.spent")
    if isinstance(original, EnsembleError):
        return original.user_message
    log.error("discord.error", code=error_code(original), exc_info=original, **context)
    return tr(language, "error.code", code=error_code(original))
