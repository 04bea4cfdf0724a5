"""A throwaway PostgreSQL cluster for the test session (a pytest plugin, loaded by tests/conftest.py).

The suite runs against a real server, not a mock: ``initdb`` into a temporary folder, ``pg_ctl start`` on a
free loopback port, one cluster for the whole session (starting one costs about a second, a database in it
tens of milliseconds), stopped and deleted at the end. PostgreSQL refuses to run as root, and CI runs as
root, so then the cluster runs as the ``postgres`` system user that Debian's package creates, in a folder it
owns. Each test that asks for ``pg_url`` gets its own empty database; ``pg_migrated_url`` one cloned from a
template migrated once per session (``CREATE DATABASE ... TEMPLATE``).

Without PostgreSQL's binaries (a developer laptop) those tests skip with one line naming the package; in
CI (``CI`` set) the same situation is a failure, because ``.ci/run`` installs the package and a suite that
silently skipped its PostgreSQL half would look green while testing nothing of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

SUPERUSER = "ensemble"
NOT_INSTALLED = "PostgreSQL is not installed: apt-get install postgresql (Debian's package) to run these tests"
TEMPLATE_DB = "ensemble_migrated"
T = TypeVar("T")


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin (newest N)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0
    )
    for initdb in reversed(candidates):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            return folder
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster: where it lives, how to reach it, and who runs it."""

    bin_dir: Path
    root: Path
    port: int
    run_as: str | None
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def next_name(self, prefix: str) -> str:
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            user=self.run_as,
            cwd=self.root,
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        for _attempt in range(5):
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                " -c full_page_writes=off -c max_connections=200"
            )
            started = self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start", check=False)
            if started.returncode == 0:
                return
            # The port was free when chosen and has been taken since: try another.
            self.port = free_port()
        log = (self.root / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()}\n{log}")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)


def _owner() -> str | None:
    """The user to run the server as: ourselves unless we are root, then ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "missing"
    return "postgres"


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it in .ci/run, so this is a failure there)", pytrace=False)
    pytest.skip(reason)


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to the end from synchronous fixture code, on a thread of its own with its own loop.

    A sync fixture may be set up while the test's loop is running (``request.getfixturevalue`` inside an
    async fixture), where ``asyncio.run`` is refused.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One cluster for the session (started on first use, so a run that needs none starts none)."""
    bin_dir = find_binaries()
    if bin_dir is None:
        unavailable(NOT_INSTALLED)
    owner = _owner()
    if owner == "missing":
        unavailable("PostgreSQL refuses to run as root and there is no 'postgres' user: apt-get install postgresql creates it")
    root = Path(tempfile.mkdtemp(prefix="ensemble-pg-"))
    if owner is not None:
        shutil.chown(root, user=owner)
    cluster = Cluster(bin_dir=bin_dir, root=root, port=free_port(), run_as=owner)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: Cluster) -> str:
    """A database migrated once to the newest PostgreSQL schema, cloned by ``pg_migrated_url``."""
    from bot.store.database import open_database
    from bot.store.migrate import migrate_database

    async def build() -> None:
        await _admin(postgres_cluster.url(), f'CREATE DATABASE "{TEMPLATE_DB}"')
        db = await open_database(postgres_cluster.url(TEMPLATE_DB))
        try:
            await migrate_database(db)
        finally:
            await db.close()

    run_async(build)
    return TEMPLATE_DB


def _database_fixture(cluster: Cluster, template: str | None) -> Iterator[str]:
    name = cluster.next_name("test")
    source = f' TEMPLATE "{template}"' if template else ""
    run_async(lambda: _admin(cluster.url(), f'CREATE DATABASE "{name}"{source}'))
    try:
        yield cluster.url(name)
    finally:
        with contextlib.suppress(Exception):
            run_async(lambda: _admin(cluster.url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(postgres_cluster: Cluster) -> Iterator[str]:
    """The URL of an empty database of its own for this test."""
    yield from _database_fixture(postgres_cluster, None)


@pytest.fixture
def pg_migrated_url(postgres_cluster: Cluster, postgres_template: str) -> Iterator[str]:
    """The URL of a database of its own for this test, already at the newest schema."""
    yield from _database_fixture(postgres_cluster, postgres_template)
