"""The zero-latency model server as a separate process, so its CPU is never counted as the bot's."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import psutil


class ModelServerProcess:
    """``python -m bot.testing.openai_server`` on an ephemeral port, answering with varied NPC lines.

    ``with ModelServerProcess() as server: ... server.base_url``; ``cpu_ms_per_request`` reports the
    server's own CPU (read with psutil before it stops) so a reader sees what the other core spent.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self._cpu_s = 0.0

    def __enter__(self) -> ModelServerProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bot.testing.openai_server", "--port", "0", "--responder", "bot.bench.lines:bench_responder", "--no-record"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self._process.stdout is not None
        banner = self._process.stdout.readline()
        if "base URL" not in banner:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the model server did not start: {banner!r}")
        self.base_url = banner.split("base URL", 1)[1].split()[0]
        return self

    def warm(self, requests: int = 20) -> None:
        """Send a few plain requests (not through our SDK) so the server itself is warm, like a real one.

        A production model server has answered thousands of requests before the bot's first; without
        this the first reply would also time the server's own first-request costs.
        """
        body = json.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "Hello."}]}).encode()
        for _ in range(requests):
            request = urllib.request.Request(
                self.base_url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()

    def cpu_ms_per_request(self) -> float:
        """The server's CPU (user + system) per chat request it answered so far, from psutil."""
        if self._process is None:
            return 0.0
        times = psutil.Process(self._process.pid).cpu_times()
        self._cpu_s = times.user + times.system
        requests = self._requests()
        return round(self._cpu_s * 1000 / requests, 3) if requests else 0.0

    def _requests(self) -> int:
        with urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/stats", timeout=10) as answer:
            return int(json.loads(answer.read())["chat_requests"])

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
