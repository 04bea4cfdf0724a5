"""Streaming pieces: the iterator handed to the engine and the reader that hides reasoning chunks."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from bot.core.ports import ChatResult
from bot.model.think import ThinkFilter


class ChatStream:
    """The async iterator returned by ``OpenAIChatModel.stream``; ``result`` is set once it is exhausted."""

    def __init__(self) -> None:
        self.result: ChatResult | None = None
        self._deltas: AsyncGenerator[str, None] | None = None

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        assert self._deltas is not None
        return await self._deltas.__anext__()

    async def aclose(self) -> None:
        """Stop early and release the connection."""
        if self._deltas is not None:
            await self._deltas.aclose()


class StreamReader:
    """Pulls SDK chunks and returns visible text, collecting finish reason and usage on the way."""

    def __init__(self, sdk_stream: Any) -> None:
        self.sdk_stream = sdk_stream
        self._chunks = sdk_stream.__aiter__()
        self._filter = ThinkFilter()
        self.done = False
        self.finish_reason: str | None = None
        self.usage: Any = None
        self.model = ""
        self.visible: list[str] = []

    async def next_visible(self) -> str | None:
        """The next non-empty visible delta, or ``None`` at the end of the stream."""
        while not self.done:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self.done = True
                return self._keep(self._filter.flush()) or None
            self.model = chunk.model or self.model
            if chunk.usage is not None:
                self.usage = chunk.usage
            for choice in chunk.choices:
                if choice.finish_reason:
                    self.finish_reason = choice.finish_reason
                text = self._keep(self._filter.feed(choice.delta.content if choice.delta else None))
                if text:
                    return text
        return None

    def _keep(self, text: str) -> str:
        if text:
            self.visible.append(text)
        return text
