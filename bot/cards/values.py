"""Total readers for values found in untrusted card JSON: each returns a usable value, never raises."""

from __future__ import annotations

import math
import re
from typing import Any

_MACRO = re.compile(r"\{\{(user|char)\}\}|<(user|bot)>", re.IGNORECASE)


def as_text(value: Any) -> str:
    """A card text field as a string: numbers are written out, anything else that is not text is empty."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        return ""
    elif isinstance(value, int):
        try:
            text = str(value)
        except ValueError:  # more digits than Python will print
            return ""
    elif isinstance(value, float):
        text = repr(value) if math.isfinite(value) else ""
    else:
        return ""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalize_macros(text: str) -> str:
    """``{{User}}``/``<USER>`` -> ``{{user}}`` and ``{{CHAR}}``/``<BOT>`` -> ``{{char}}``; other text untouched."""

    def repl(match: re.Match[str]) -> str:
        word = (match.group(1) or match.group(2)).lower()
        return "{{user}}" if word == "user" else "{{char}}"

    return _MACRO.sub(repl, text)


def as_text_list(value: Any, *, split_commas: bool = False) -> list[str]:
    """A list of non-empty texts from a list (or a single string) in a card."""
    if isinstance(value, str):
        items: list[Any] = value.split(",") if split_commas else [value]
    elif isinstance(value, list):
        items = value
    else:
        return []
    out = []
    for item in items:
        text = as_text(item).strip()
        if text:
            out.append(text)
    return out


def as_bool(value: Any, default: bool) -> bool:
    """A flag: booleans, numbers (non-zero) and the words true/false, yes/no, 1/0; anything else is ``default``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, float) and math.isfinite(value):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    return default


def as_opt_bool(value: Any) -> bool | None:
    """A flag that may be unset (SillyTavern's ``null`` = use the global setting): only real booleans count."""
    return value if isinstance(value, bool) else None


def as_number(value: Any) -> float | None:
    """A finite number from a number or numeric text, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_int(value: Any, default: int) -> int:
    """An integer (truncated) from a number or numeric text of reasonable size, else ``default``."""
    number = as_number(value)
    if number is None or abs(number) > 1e15:
        return default
    return int(number)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values that also tells ``1`` from ``1.0`` from ``True``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
