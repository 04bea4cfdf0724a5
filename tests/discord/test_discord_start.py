"""Starting ``run`` for a community: no voice-support noise, and ``/healthz`` and ``/metrics`` served by the
real command (a subprocess against the fake Discord and the local model server)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys

import aiohttp
import discord
from test_discord_cli import ROOT, bot_env

from bot.discord_adapter.client import EnsembleBot


def test_voice_support_warnings_are_silenced(app, caplog) -> None:
    discord.VoiceClient.warn_nacl = True  # as on a fresh import of discord.py without PyNaCl or davey
    discord.VoiceClient.warn_dave = True
    with caplog.at_level(logging.WARNING, logger="discord"):
        EnsembleBot(app)
    assert not [r for r in caplog.records if "voice will NOT be supported" in r.getMessage()]
    assert not discord.VoiceClient.warn_nacl and not discord.VoiceClient.warn_dave


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_run_serves_health_and_metrics(tmp_path, content, model_server, discord_server) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DISCORD_DEV_GUILD"},
        **bot_env(tmp_path, content, model_server, discord_server),
        "PYTHONPATH": str(ROOT), "METRICS_PORT": str(port), "LOG_LEVEL": "INFO",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await discord_server.wait_until(lambda: discord_server.ready_count >= 1, timeout=20, what="READY")
        async with aiohttp.ClientSession() as session:
            status = 0
            for _ in range(100):  # READY reached the bot a moment after the fake sent it
                async with session.get(f"http://127.0.0.1:{port}/healthz") as health:
                    status = health.status
                if status == 200:
                    break
                await asyncio.sleep(0.1)
            assert status == 200
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                text = await response.text()
        assert "ensemble_gateway_ready 1.0" in text and "ensemble_turns_total" in text
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert "metrics.serving" in err.decode()
    assert "voice will NOT be supported" not in err.decode()
