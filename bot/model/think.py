"""Removal of ``<think>...</think>`` reasoning blocks from model output, whole or while streaming."""

from __future__ import annotations

import re

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

_OPEN = re.compile(r"<think>", re.IGNORECASE)
_CLOSE = re.compile(r"</think>", re.IGNORECASE)


def strip_think(text: str | None) -> str:
    """Return only the visible part of ``text``, trimmed.

    Blocks are removed wherever they are. An opening tag that never closes means the model was
    cut off while reasoning (e.g. ``finish_reason == "length"``), so everything after it is
    hidden. A closing tag before any opening one means the server's chat template opened the
    block inside the prompt (some reasoning-model templates do), so everything before it is
    reasoning. Otherwise this is exactly what :class:`ThinkFilter` shows, however it is chunked.
    """
    if not text:
        return ""
    opening, closing = _OPEN.search(text), _CLOSE.search(text)
    if closing and (opening is None or closing.start() < opening.start()):
        text = text[closing.end() :]
    think = ThinkFilter()
    return (think.feed(text) + think.flush()).strip()


class ThinkFilter:
    """Incremental version of :func:`strip_think` for streamed deltas.

    ``feed`` returns the text that is certainly visible so far; a tail that could be the start of
    a tag split across chunks (``"<thi"``) is held back until the next delta decides it. Leading
    whitespace of the reply is dropped (models put blank lines after ``</think>``). Unlike
    :func:`strip_think` a leading orphan ``</think>`` cannot hide text already shown, so only the
    tag itself is dropped.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._inside = False
        self._started = False

    @property
    def inside_think(self) -> bool:
        """True while the stream is in a reasoning block."""
        return self._inside

    def feed(self, delta: str | None) -> str:
        """Consume one delta and return the newly visible text (possibly empty)."""
        if not delta:
            return ""
        self._pending += delta
        out: list[str] = []
        while self._pending:
            if self._inside:
                end = self._find(CLOSE_TAG)
                if end < 0:
                    # Keep only a possible partial closing tag; the rest is reasoning.
                    keep = self._partial_suffix(CLOSE_TAG)
                    self._pending = self._pending[len(self._pending) - keep :]
                    break
                self._pending = self._pending[end + len(CLOSE_TAG) :]
                self._inside = False
                continue
            start = self._find(OPEN_TAG)
            stray = self._find(CLOSE_TAG)
            if stray >= 0 and (start < 0 or stray < start):
                out.append(self._pending[:stray])
                self._pending = self._pending[stray + len(CLOSE_TAG) :]
                continue
            if start >= 0:
                out.append(self._pending[:start])
                self._pending = self._pending[start + len(OPEN_TAG) :]
                self._inside = True
                continue
            hold = max(self._partial_suffix(OPEN_TAG), self._partial_suffix(CLOSE_TAG))
            cut = len(self._pending) - hold
            out.append(self._pending[:cut])
            self._pending = self._pending[cut:]
            break
        return self._visible("".join(out))

    def flush(self) -> str:
        """Return what was held back at the end of the stream (a lone ``"<thi"`` is real text)."""
        rest = "" if self._inside else self._pending
        self._pending = ""
        return self._visible(rest)

    def _visible(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            if text:
                self._started = True
        return text

    def _find(self, tag: str) -> int:
        return self._pending.lower().find(tag)

    def _partial_suffix(self, tag: str) -> int:
        """Length of the longest end of the pending text that is a proper prefix of ``tag``."""
        lowered = self._pending.lower()
        for size in range(min(len(tag) - 1, len(lowered)), 0, -1):
            if lowered.endswith(tag[:size]):
                return size
        return 0
