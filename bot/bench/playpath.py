"""The ``play`` path: bot process CPU per NPC reply over a long scripted ``python -m bot play``.

The bot runs as its own process exactly as a person would start it (stdin not a terminal, so it reads
the script and prints the transcript); the model server is a third process. psutil reads the bot's
CPU (user + system, all threads) each time the transcript echoes a player line, which ``play`` does
just before handling it, so the difference between two echoes is what the lines in between cost; the
total comes from the exit status's resource usage (``os.wait4``), so background summaries finishing
after the last line count too. Start-up (imports, content, Lingua's models) is reported, not counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

from bot.bench.lines import PLAYER_LINES
from bot.content.loader import load_content

SUMMON = ("Mira", "Old Tom", "Captain Vell")
USER = "Ann"


def run_play_bench(
    *, lines: int, base_url: str, tmp: Path, characters_dir: Path, worlds_dir: Path, database_url: str | None = None,
    embeddings: str | None = None, name: str = "play",
) -> dict[str, Any]:
    """Play ``lines`` player lines with three characters; CPU per NPC reply overall and per window (the
    store in ``database_url``'s PostgreSQL when given, else a SQLite file ``name``.db; ``embeddings`` sets
    ``EMBEDDINGS`` for the bot, the default when not given)."""
    import random

    rng = random.Random(3)
    script = [rng.choice(PLAYER_LINES) for _ in range(lines)]
    names = {c.name for c in load_content(characters_dir, worlds_dir).cast_of("harbor")}
    env = dict(
        os.environ, LLM_BASE_URL=base_url, LLM_API_KEY="bench", LLM_MODEL="fake-model", RANDOM_SEED="7",
        DATABASE_PATH=str(tmp / f"{name}.db"), CHARACTERS_DIR=str(characters_dir), WORLDS_DIR=str(worlds_dir),
        LOG_LEVEL="WARNING",
        USER_LINES_PER_MINUTE="0",  # the script types faster than any person: measure the bot, not the limit
    )
    env.pop("DATABASE_URL", None)
    env.pop("EMBEDDINGS", None)
    if embeddings is not None:
        env["EMBEDDINGS"] = embeddings
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    stdin_lines = [f"/summon {name}" for name in SUMMON] + script + ["/quit"]
    with open(tmp / f"{name}.stderr", "w", encoding="utf-8") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot", "play", "--world", "harbor", "--user", USER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
        )
        watched = psutil.Process(child.pid)
        writer = threading.Thread(target=_feed, args=(child, stdin_lines), daemon=True)
        writer.start()
        echoes = 0  # player lines (not commands) whose handling has begun
        cpu_at: dict[int, float] = {}  # player line number -> bot CPU when it began
        replies_before: dict[int, int] = {}
        replies = 0
        assert child.stdout is not None
        for out in child.stdout:
            if out.startswith(f"> {USER}: "):
                text = out[len(f"> {USER}: "):].rstrip("\n")
                if text.startswith("/"):
                    if text == "/quit":
                        cpu_at[lines + 1] = _cpu(watched)
                        replies_before[lines + 1] = replies
                    continue
                echoes += 1
                cpu_at[echoes] = _cpu(watched)
                replies_before[echoes] = replies
            elif out.split(": ", 1)[0] in names and echoes:
                replies += 1
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        writer.join(10)
    if child.returncode != 0:
        raise RuntimeError(f"play exited with {child.returncode}; see {tmp / f'{name}.stderr'}")
    total_cpu = usage.ru_utime + usage.ru_stime
    startup = cpu_at.get(1, 0.0)
    windows = []
    for first, last in _windows(lines):
        cpu = cpu_at[last + 1] - cpu_at[first]
        count = replies_before[last + 1] - replies_before[first]
        windows.append({"from": first, "to": last, "replies": count,
                        "process_cpu_ms_per_reply": round(cpu * 1000 / count, 3) if count else 0.0})
    return {
        "embeddings": embeddings or "default",
        "lines": lines,
        "characters": len(SUMMON),
        "replies": replies,
        "startup_cpu_s": round(startup, 3),
        "process_cpu_s": round(total_cpu - startup, 3),
        "process_cpu_ms_per_reply": round((total_cpu - startup) * 1000 / replies, 3) if replies else 0.0,
        "windows": windows,
    }


def _windows(lines: int) -> list[tuple[int, int]]:
    """Early and late stretches: lines 21-120 and the last 100 (halves of a short run)."""
    if lines >= 220:
        return [(21, 120), (lines - 99, lines)]
    half = lines // 2
    return [(1, half), (half + 1, lines)]


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _feed(child: subprocess.Popen[str], lines: list[str]) -> None:
    """Write the script from a thread, so a full stdin pipe never blocks reading the transcript."""
    assert child.stdin is not None
    try:
        for line in lines:
            child.stdin.write(line + "\n")
        child.stdin.close()
    except BrokenPipeError:
        pass
