"""An in-process ChatModel for engine tests and simulations: scripted replies, recorded calls.

Engine tests use it to stay free of any network; everything that must prove the real SDK path uses
``bot.testing.openai_server`` instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from bot.core.ports import ChatMessage, ChatOptions, ChatResult, Usage
from bot.errors import ModelUnavailable


@dataclass(frozen=True, slots=True)
class Call:
    """One recorded call."""

    messages: tuple[ChatMessage, ...]
    options: ChatOptions

    @property
    def system(self) -> str:
        return self.messages[0].content if self.messages else ""

    @property
    def speaker(self) -> str:
        """The character the call was for, read from the first line of its system prompt."""
        first = self.system.split("\n", 1)[0]
        return first.removeprefix("You are ").split(",", 1)[0]


class Unavailable:
    """A queued failure: the call raises ModelUnavailable."""

    user_message = "The storyteller's model is not answering right now; try again in a moment."


Responder = Callable[[Sequence[ChatMessage], ChatOptions], str]


def echo_responder(messages: Sequence[ChatMessage], options: ChatOptions) -> str:
    """A deterministic reply naming the speaker and quoting the last line it heard."""
    speaker = Call(tuple(messages), options).speaker
    last = next((m.content for m in reversed(messages) if m.role in ("user", "assistant")), "")
    return f"({speaker} answers) I heard: {last[:60]}"


class ScriptedModel:
    """Replies from a queue (strings or ``Unavailable()``), then from a responder."""

    def __init__(self, responder: Responder = echo_responder) -> None:
        self.responder = responder
        self.queue: deque[str | Unavailable] = deque()
        self.calls: list[Call] = []

    def enqueue(self, *replies: str | Unavailable) -> None:
        self.queue.extend(replies)

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        self.calls.append(Call(tuple(messages), options))
        item = self.queue.popleft() if self.queue else self.responder(messages, options)
        if isinstance(item, Unavailable):
            raise ModelUnavailable(item.user_message)
        return ChatResult(
            text=item,
            finish_reason="stop",
            usage=Usage(
                prompt_tokens=sum(len(m.content) for m in messages) // 4, completion_tokens=len(item) // 4
            ),
            model="scripted",
        )

    async def stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> AsyncIterator[str]:
        result = await self.complete(messages, options)
        for start in range(0, len(result.text), 16):
            yield result.text[start : start + 16]
