"""The chat-model backend over the official openai SDK: any OpenAI-compatible server, M2-her natively."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any

import openai
import pydantic
import structlog
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from tenacity import RetryCallState

from bot.core.ports import ChatMessage, ChatOptions, ChatResult
from bot.errors import ModelUnavailable
from bot.model.retry import BadResponse, CallBudget, RetryPolicy, describe, is_transient
from bot.model.roles import is_native_model, to_wire
from bot.model.stream import ChatStream, StreamReader
from bot.model.think import strip_think
from bot.model.usage import UsageTotals, usage_from_sdk

log = structlog.get_logger(__name__)

NOT_ANSWERING = "The storyteller's model is not answering right now; try again in a moment."
CUT_OFF = "The storyteller's model stopped in the middle of a reply; try again in a moment."
M2_HER_MAX_TOKENS = 2048
# Parameters some OpenAI-compatible servers reject with a 400; dropped (and remembered) when named.
OPTIONAL_PARAMS = ("response_format", "stream_options")
_MALFORMED = (json.JSONDecodeError, pydantic.ValidationError, openai.APIResponseValidationError)
# What a model call may fail with; anything else is a bug here and should surface as itself.
_CALL_ERRORS = (openai.OpenAIError, TimeoutError, BadResponse, *_MALFORMED)
CHAT_PATH = "/chat/completions"
# The order in which ``chat.completions.create()`` lays out these keys, so the body we post is the same bytes.
_WIRE_ORDER = (
    "model", "stream", "messages", "max_completion_tokens", "max_tokens", "response_format", "stop",
    "stream_options", "temperature", "top_p",
)
_STREAM_CLS = openai.AsyncStream[ChatCompletionChunk]


def warm_response_models() -> None:
    """Build the SDK's response models' pydantic schemas now (they are built on first use: ~5-10 ms of CPU
    inside the first reply otherwise). Constructing one answer and one stream chunk builds every nested model."""
    message = {"role": "assistant", "content": "."}
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "prompt_tokens_details": {"cached_tokens": 0}}
    ChatCompletion.model_construct(
        id="warm", object="chat.completion", created=0, model="warm", usage=usage,
        choices=[{"index": 0, "finish_reason": "stop", "message": message}],
    )
    ChatCompletionChunk.model_construct(
        id="warm", object="chat.completion.chunk", created=0, model="warm", usage=usage,
        choices=[{"index": 0, "finish_reason": None, "delta": message}],
    )


class OpenAIChatModel:
    """A :class:`bot.core.ports.ChatModel` over ``openai.AsyncOpenAI`` with our own bounded retries.

    ``request_timeout`` is a hard limit per HTTP request (also enforced with ``asyncio.timeout``,
    because the HTTP client's timeouts are per read); ``max_attempts`` and ``max_total_seconds``
    bound one call with all its retries. ``native_roles`` forces (True) or forbids (False) M2-her's
    message roles; ``None`` decides from the model id. ``sleep``, ``clock`` and ``rng`` are there
    so tests neither wait nor depend on chance.
    """

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str,
        request_timeout: float = 60.0,
        max_attempts: int = 4,
        max_total_seconds: float = 90.0,
        native_roles: bool | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
    ) -> None:
        self.model = model
        self.request_timeout = request_timeout
        self.max_total_seconds = max_total_seconds
        self.native_roles = native_roles
        self.usage_totals = UsageTotals()
        self._clock = clock
        self._unsupported: set[str] = set()
        self._policy = RetryPolicy(
            max_attempts=max(1, max_attempts),
            sleep=sleep,
            base_delay=base_delay,
            max_delay=max_delay,
            rng=rng or random.Random(),
            on_retry=self._log_retry,
        )
        # Local servers (Ollama, llama.cpp) need no key, but the SDK insists on one; they ignore it.
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "no-key",
            timeout=request_timeout,
            max_retries=0,
            http_client=_plain_http_client(base_url),
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAIChatModel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def build_params(
        self, messages: Sequence[ChatMessage], options: ChatOptions, *, stream: bool
    ) -> dict[str, Any]:
        """The request body for one call (public so tests and the bench can inspect it)."""
        model = options.model or self.model
        native = is_native_model(model, self.native_roles)
        max_tokens = options.max_tokens
        temperature = options.temperature
        top_p = options.top_p
        params: dict[str, Any] = {"model": model, "messages": to_wire(messages, native=native)}
        if native:
            # M2-her: output is cut at 2048 tokens, sampling values must lie in (0, 1].
            max_tokens = min(max_tokens, M2_HER_MAX_TOKENS)
            params["max_completion_tokens"] = max_tokens
            temperature = min(1.0, max(0.01, temperature))
            top_p = None if top_p is None else min(1.0, max(0.01, top_p))
        params["max_tokens"] = max_tokens
        params["temperature"] = temperature
        if top_p is not None:
            params["top_p"] = top_p
        if options.stop:
            params["stop"] = list(options.stop)
        if options.json_mode:
            params["response_format"] = {"type": "json_object"}
        if stream:
            params["stream"] = True
            params["stream_options"] = {"include_usage": True}
        for name in self._unsupported:
            params.pop(name, None)
        return {**{key: params[key] for key in _WIRE_ORDER if key in params}, **params}

    async def complete(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatResult:
        params = self.build_params(messages, options, stream=False)
        budget = self._budget(params["model"])
        started = self._clock()
        try:
            async for attempt in self._policy.retrying(budget):
                with attempt:
                    result = await self._complete_once(params, budget)
        except _CALL_ERRORS as error:
            raise self._failed(error, params["model"], budget, started) from error
        self._record(result, budget, started, stream=False)
        return result

    def stream(self, messages: Sequence[ChatMessage], options: ChatOptions) -> ChatStream:
        holder = ChatStream()
        holder._deltas = self._stream(self.build_params(messages, options, stream=True), holder)
        return holder

    async def _complete_once(self, params: dict[str, Any], budget: CallBudget) -> ChatResult:
        response = await self._request(params, budget)
        if not getattr(response, "choices", None):
            raise BadResponse("no choices")
        choice = response.choices[0]
        text = strip_think(choice.message.content if choice.message else None)
        if not text:
            raise BadResponse("empty content")
        return ChatResult(
            text=text,
            finish_reason=choice.finish_reason,
            usage=usage_from_sdk(response.usage),
            model=response.model or params["model"],
        )

    async def _request(self, params: dict[str, Any], budget: CallBudget) -> Any:
        """One HTTP request under a hard timeout; a 400 naming an optional parameter is resent without it."""
        while True:
            budget.attempts += 1
            timeout = budget.attempt_timeout()
            try:
                async with asyncio.timeout(timeout):
                    return await self._post(params, timeout)
            except openai.BadRequestError as error:
                dropped = self._rejected_param(error, params)
                if dropped is None:
                    raise
                params.pop(dropped)
                self._unsupported.add(dropped)
                log.info("model.param_dropped", model=params["model"], param=dropped)
            except _MALFORMED as error:
                raise BadResponse("malformed JSON") from error

    async def _post(self, params: dict[str, Any], timeout: float) -> Any:
        """POST the already-plain body through the SDK, skipping ``create()``'s request transform.

        ``create()`` walks every message through ``openai._utils._transform`` against the TypedDict
        schemas, which costs ~0.3 ms per message (60 ms for a 150-message prompt) and changes nothing
        for a body that is already plain JSON types. ``client.post`` keeps everything else the SDK
        does: headers and auth (the same ``security`` option ``create()`` passes), status errors,
        response parsing into ``ChatCompletion`` and the SSE stream class. A test checks that the
        bytes on the wire equal ``create()``'s.
        """
        return await self._client.post(
            CHAT_PATH,
            body=params,
            cast_to=ChatCompletion,
            options={"timeout": timeout, "security": {"bearer_auth": True}},
            stream=bool(params.get("stream")),
            stream_cls=_STREAM_CLS,
        )

    def _rejected_param(self, error: openai.BadRequestError, params: dict[str, Any]) -> str | None:
        text = f"{error.param or ''} {error.message}"
        return next((name for name in OPTIONAL_PARAMS if name in params and name in text), None)

    async def _stream(self, params: dict[str, Any], holder: ChatStream) -> AsyncGenerator[str, None]:
        budget = self._budget(params["model"])
        started = self._clock()
        reader: StreamReader | None = None
        try:
            try:
                async for attempt in self._policy.retrying(budget):
                    with attempt:
                        reader, first = await self._open_stream(params, budget)
            except _CALL_ERRORS as error:
                raise self._failed(error, params["model"], budget, started) from error
            # From here on text has reached the player, so a failure cannot be retried invisibly.
            yield first
            while True:
                try:
                    async with asyncio.timeout(self.request_timeout):
                        text = await reader.next_visible()
                except _CALL_ERRORS as error:
                    self._count_failure(budget)
                    log.warning("model.stream_broken", model=params["model"], reason=describe(error))
                    raise ModelUnavailable(CUT_OFF, detail=f"stream broken: {describe(error)}") from error
                if text is None:
                    break
                yield text
        finally:
            if reader is not None:
                await reader.sdk_stream.close()
        holder.result = ChatResult(
            text="".join(reader.visible).strip(),
            finish_reason=reader.finish_reason,
            usage=usage_from_sdk(reader.usage),
            model=reader.model or params["model"],
        )
        self._record(holder.result, budget, started, stream=True)

    async def _open_stream(self, params: dict[str, Any], budget: CallBudget) -> tuple[StreamReader, str]:
        """Open a stream and read up to its first visible text; all of it counts as one attempt."""
        timeout = budget.attempt_timeout()
        sdk_stream = None
        try:
            async with asyncio.timeout(timeout):
                sdk_stream = await self._request(params, budget)
                reader = StreamReader(sdk_stream)
                first = await reader.next_visible()
        except BaseException as error:
            if sdk_stream is not None:
                await sdk_stream.close()
            if isinstance(error, _MALFORMED):
                raise BadResponse("malformed JSON") from error
            raise
        if first is None:
            await sdk_stream.close()
            raise BadResponse("empty content")
        return reader, first

    def _budget(self, model: str) -> CallBudget:
        return CallBudget(
            model=model,
            deadline=self._clock() + self.max_total_seconds,
            request_timeout=self.request_timeout,
            clock=self._clock,
        )

    def _record(self, result: ChatResult, budget: CallBudget, started: float, *, stream: bool) -> None:
        self.usage_totals.calls += 1
        self.usage_totals.attempts += budget.attempts
        self.usage_totals.add(result.usage)
        log.info(
            "model.call",
            model=result.model,
            stream=stream,
            latency_ms=round((self._clock() - started) * 1000),
            attempts=budget.attempts,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cached_tokens=result.usage.cached_tokens,
            finish_reason=result.finish_reason,
        )

    def _failed(
        self, error: BaseException, model: str, budget: CallBudget, started: float
    ) -> ModelUnavailable:
        """The user-safe error for a call that will not be retried any more; logs why."""
        self._count_failure(budget)
        reason = describe(error)
        log.warning(
            "model.failed",
            model=model,
            reason=reason,
            attempts=budget.attempts,
            latency_ms=round((self._clock() - started) * 1000),
        )
        return ModelUnavailable(
            _user_message(error, model), detail=f"{reason} after {budget.attempts} attempts"
        )

    def _count_failure(self, budget: CallBudget) -> None:
        self.usage_totals.calls += 1
        self.usage_totals.failed_calls += 1
        self.usage_totals.attempts += budget.attempts

    def _log_retry(self, state: RetryCallState, budget: CallBudget) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info(
            "model.retry",
            model=budget.model,
            attempt=state.attempt_number,
            wait_s=round(state.upcoming_sleep, 3),
            reason=describe(error) if error else "unknown",
        )


def _plain_http_client(base_url: str | None) -> Any:
    """For an ``http://`` server, a client that skips loading the CA store (~0.1 s per backend).

    No TLS is ever negotiated with such a server because redirects (which could lead to an
    ``https://`` host) are not followed; ``None`` lets the SDK build its usual verifying client, also
    when no base URL is set (the SDK then uses its default endpoint).
    """
    if not base_url or not base_url.lower().startswith("http://"):
        return None
    return openai.DefaultAsyncHttpxClient(verify=False, follow_redirects=False)


def _user_message(error: BaseException, model: str) -> str:
    """What a player or admin may read: no URL, no key, no traceback."""
    if isinstance(error, openai.AuthenticationError):
        return "The model server rejected the API key; check the configured key."
    if isinstance(error, openai.PermissionDeniedError):
        return "The model server refused this API key access to the model."
    if isinstance(error, openai.NotFoundError):
        return (
            f"The model server does not know the model '{model}'; check the model name and base URL settings."
        )
    if isinstance(error, openai.APIStatusError) and not is_transient(error):
        return "The model server rejected the request; the conversation may be too long or a setting invalid."
    return NOT_ANSWERING
