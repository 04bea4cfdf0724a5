"""Failures a person must fix, turned into one sentence each: the database and the network at start.

Pure functions of the exception (and what was being opened), so each sentence is testable on its
own; the callers keep the traceback for the debug log.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

WRITABLE = "point DATABASE_PATH at a file in a folder this user can write"


def database_problem(path: Path, exc: BaseException) -> str | None:
    """The sentence for a database that cannot be opened or written, or ``None`` if ``exc`` is not that."""
    folder = path.parent
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return (
                f"The database {path} is locked by another process (is another Ensemble running on it?): "
                "stop that process, or set DATABASE_PATH to another file."
            )
        if "readonly" in text or "read-only" in text or "unable to open" in text:
            return f"Cannot write the database {path}: the folder {folder} is read-only or missing; {WRITABLE}."
        if "not a database" in text or "malformed" in text:
            return f"{path} is not a usable SQLite database: point DATABASE_PATH at another file."
        if "disk" in text or "full" in text:
            return f"Cannot write the database {path} ({exc}): free some disk space or {WRITABLE}."
        return f"Cannot use the database {path} ({exc}); {WRITABLE}."
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return f"Cannot create the database folder {folder}: a file is in the way; {WRITABLE}."
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return f"Cannot create the database folder {folder} ({reason}); create it writable, or {WRITABLE}."
    return None


def network_problem(what: str, setting: str, url: str, exc: BaseException) -> str | None:
    """The sentence for a server that cannot be reached (DNS, refused, timed out), or ``None``."""
    reason = _network_reason(exc)
    if reason is None:
        return None
    return (
        f"Cannot reach {what} at {url} ({reason}): check the internet connection and {setting}, then start again."
    )


def _network_reason(exc: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, TimeoutError):
            return "timed out"
        name = type(current).__name__
        if name == "ClientConnectorDNSError":
            return "the host name does not resolve"
        inner = getattr(current, "os_error", None)  # aiohttp's connector errors wrap the OSError
        if isinstance(inner, BaseException) and id(inner) not in seen:
            current = inner
            continue
        if name in ("ClientConnectorError", "ClientOSError", "ServerDisconnectedError", "ServerTimeoutError"):
            return str(getattr(current, "strerror", None) or "cannot connect")
        if isinstance(current, OSError) and current.errno is not None:
            return current.strerror or "cannot connect"
        current = current.__cause__ or current.__context__
    return None
