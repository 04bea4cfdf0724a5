"""Run the protocol: every scenario x R runs x (Ensemble, baseline), T user turns each, then the judge.

A *job* is one (scenario, system, run). Jobs run concurrently under an ``asyncio.Semaphore``; inside a job
the turns run in order: the simulator writes the user's line (turn 1 is the scenario's opening), the
system under test answers. Ensemble is the full engine (narrator, scheduler, memory, director hooks,
whatever guards the engine applies) with one SQLite file per (scenario, run) in ``OUTDIR/db``; the
baseline is one plain prompt (``bot.eval.baseline``).

Checkpoints: after every turn and every judged dimension the job's state is written atomically to
``OUTDIR/state/JOB.json``. Run again with the same ``OUTDIR`` and each job resumes at its next turn. For
Ensemble the engine's database is the source of truth for the transcript (a turn committed just before
a crash is picked up from it); the baseline's transcript lives in the checkpoint. Judge verdicts are
kept too, so a resumed run only judges what is missing (and retries verdicts lost to an unreachable
judge, never ones that were invalid twice).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from bot.core.ports import ChatModel, SystemClock
from bot.engine.lines import InboundLine, Narration, SceneKey, Utterance
from bot.engine.scene import SceneEngine
from bot.errors import EnsembleError, ModelUnavailable
from bot.eval.baseline import Baseline, speaker_label
from bot.eval.judge import DIMENSIONS, Judge, chunk_prompt, chunk_ranges
from bot.eval.records import SYSTEMS, ChunkResult, JobState, Line, System, Turn
from bot.eval.scenarios import Scenario
from bot.eval.simulator import UserSimulator
from bot.store import Store
from bot.store.records import NewMessage, TurnCommit

log = structlog.get_logger("eval")

USER_ID = "eval-user"
MAX_FAILED_IN_A_ROW = 3
OnTurn = Callable[[str, int], None]


class EvalStateError(EnsembleError):
    """An output folder's state cannot be used as it is (the message says which file and why)."""


class JobAborted(Exception):
    """A job stopped early (its model kept failing); its checkpoint is kept for a later resume."""


@dataclass
class RunOptions:
    """How much to run and where; ``max_turns_this_session`` stops early (for tests and short sessions)."""

    out_dir: Path
    turns: int = 100
    runs: int = 3
    concurrency: int = 2
    baseline: bool = True
    chunk_turns: int = 20
    progress: bool = True
    max_turns_this_session: int | None = None
    seed: int = 0


@dataclass
class EvalModels:
    """The three endpoints: the NPC model (shared by Ensemble and the baseline), simulator and judge."""

    npc: ChatModel
    simulator: ChatModel
    judge: ChatModel
    npc_model: str = ""
    narrator_model: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    scenario: Scenario
    system: System
    run: int
    state: JobState
    stopped: bool = False

    @property
    def id(self) -> str:
        return self.state.job


@dataclass
class EvalOutcome:
    """What a session did: every job's state (complete or not) and whether the protocol is finished."""

    jobs: list[Job]
    options: RunOptions
    scenarios: list[Scenario]
    models: dict[str, Any]
    started: float
    finished: float

    @property
    def complete(self) -> bool:
        return all(is_complete(job, self.options) for job in self.jobs)

    @property
    def errors(self) -> list[str]:
        return [f"{job.id}: {job.state.error}" for job in self.jobs if job.state.error]


def fingerprint(scenario: Scenario) -> str:
    """A digest of everything that shapes a scenario's play (world, cast, user, opening, style)."""
    material = {
        "world": scenario.world.model_dump(mode="json"),
        "cast": [c.model_dump(mode="json") for c in scenario.cast],
        "user": [scenario.user_name, scenario.user_persona],
        "opening": scenario.opening,
        "prologue": [scenario.prologue_speaker, scenario.prologue],
        "style": scenario.style.label,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def job_id(scenario_id: str, system: System, run: int) -> str:
    return f"{scenario_id}--{system}--run{run}"


def is_complete(job: Job, options: RunOptions) -> bool:
    if len(job.state.turns) < options.turns:
        return False
    for index, (start, end) in enumerate(chunk_ranges(options.turns, options.chunk_turns)):
        chunk = job.state.chunks.get(str(index))
        if chunk is None or (chunk.start, chunk.end) != (start, end):
            return False
        for dimension in DIMENSIONS:
            verdict = chunk.dimensions.get(dimension)
            if verdict is None or (verdict.status == "unscored" and verdict.retryable):
                return False
    return True


# --- checkpoints --------------------------------------------------------------------------------------


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one, never half of either.

    Atomic against the process dying (a temporary file renamed over the old one). There is no fsync:
    like the engine's database (WAL, ``synchronous=NORMAL``) the last turns may be replayed after a power
    loss, and for Ensemble the database, not the checkpoint, decides where a job resumes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Checkpoints:
    """``OUTDIR/state/JOB.json``, one per job."""

    def __init__(self, out_dir: Path) -> None:
        self.folder = out_dir / "state"

    def path(self, job: str) -> Path:
        return self.folder / f"{job}.json"

    def load(self, job: str) -> JobState | None:
        path = self.path(job)
        if not path.exists():
            return None
        try:
            return JobState.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, ValueError) as exc:
            raise EvalStateError(
                f"{path}: not a readable checkpoint ({str(exc).splitlines()[0]}); delete it to restart that job."
            ) from None

    def save(self, state: JobState) -> None:
        atomic_write(self.path(state.job), state.model_dump_json(indent=1))


# --- progress ----------------------------------------------------------------------------------------


class Progress:
    """A tqdm bar on stderr when it is a terminal (and not turned off); silent otherwise."""

    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self._bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="step", desc="eval", dynamic_ncols=True)

    def update(self, n: int = 1, note: str | None = None) -> None:
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class SessionBudget:
    """How many turns this session may still play (``None``: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


# --- the systems under test ---------------------------------------------------------------------------


def history_of(state: JobState) -> list[Line]:
    lines = list(state.setup)
    for turn in state.turns:
        lines.append(turn.user)
        lines.extend(turn.replies)
    return lines


def turns_from_records(records: Sequence[dict[str, Any]]) -> tuple[list[Line], list[Turn]]:
    """The engine's export grouped by user line: lines before the first one are the setup."""
    setup: list[Line] = []
    turns: list[Turn] = []
    for record in records:
        kind = record.get("kind")
        if kind not in ("user", "npc", "narration"):
            continue
        line = Line(kind=kind, speaker=str(record.get("speaker") or ""), text=str(record.get("text") or ""))
        if kind == "user":
            turns.append(Turn(turn=len(turns) + 1, user=line))
        elif turns:
            turns[-1].replies.append(line)
        else:
            setup.append(line)
    return setup, turns


class EnsembleSystem:
    """The full engine over its own SQLite file."""

    def __init__(self, scenario: Scenario, models: EvalModels, db_path: Path, run: int, seed: int) -> None:
        self.scenario = scenario
        self.models = models
        self.db_path = db_path
        self.key = SceneKey("eval", f"{scenario.id}-run{run}")
        self.rng = random.Random(zlib.crc32(f"{seed}:{scenario.id}:{run}".encode()))
        self.store: Store | None = None
        self.engine: SceneEngine | None = None

    async def open(self) -> None:
        clock = SystemClock()
        self.store = await Store.open(self.db_path, clock=clock)
        await self.store.interrupt_all_open_turns()
        self.engine = SceneEngine(
            store=self.store,
            model=self.models.npc,
            library=self.scenario.library,
            clock=clock,
            rng=self.rng,
            model_name=self.models.npc_model,
            narrator_model=self.models.narrator_model,
        )

    async def close(self) -> None:
        if self.engine is not None:
            closing = getattr(self.engine, "aclose", None)  # background memory work, where the engine has it
            if closing is not None:
                await closing()
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def settle(self) -> None:
        """Let the engine's background work (rolling summaries) finish, as it would while the user types."""
        drain = getattr(self._engine(), "drain", None)
        if drain is not None:
            await drain()

    async def prepare(self, state: JobState) -> None:
        """Open the scene, summon the cast, speak the prologue (once); then take the transcript from the DB."""
        engine = self._engine()
        scenario = self.scenario
        await engine.open_scene(self.key, scenario.world.id)
        records = await engine.export(self.key)
        if not records:
            for character in scenario.cast:
                await engine.summon(self.key, character.name)
            if scenario.prologue and scenario.prologue_speaker:
                await self._prologue()
        await self._drop_interrupted_turn(len(state.turns))
        await self.sync(state)

    async def _drop_interrupted_turn(self, checkpointed: int) -> None:
        """A user line the process died on (stored, never answered, not checkpointed) is undone to be replayed.

        Without the engine's ``rewind`` it stays, as a turn the NPC side did not answer.
        """
        engine = self._engine()
        _, turns = turns_from_records(await engine.export(self.key))
        rewind = getattr(engine, "rewind", None)
        if rewind is not None and len(turns) > checkpointed and not turns[-1].replies:
            await rewind(self.key, 1)
            log.info("eval.interrupted_turn_replayed", db=str(self.db_path), turn=turns[-1].turn)

    async def _prologue(self) -> None:
        engine = self._engine()
        scene = await engine.require_scene(self.key)
        speaker = self.scenario.character(self.scenario.prologue_speaker or "")
        message = NewMessage(
            kind="npc",
            speaker=speaker.name,
            text=self.scenario.prologue,
            character_id=speaker.id,
            location=scene.user_location,
            heard_by=tuple(c for c in self.scenario.cast_ids if c != speaker.id),
        )
        await engine.store.record_turn(scene, TurnCommit(messages=[message]))

    async def sync(self, state: JobState) -> None:
        """Make the checkpoint's transcript the database's (keeping notes the database does not hold).

        The database decides: a turn committed just before a crash is taken from it; turns it lost (a
        power loss, a deleted file) are played again. Chunk verdicts of changed turns are dropped.
        """
        setup, turns = turns_from_records(await self._engine().export(self.key))
        if len(turns) < len(state.turns):
            log.warning("eval.checkpoint_ahead_of_database", db=str(self.db_path), database=len(turns), checkpoint=len(state.turns))
            state.chunks = {k: c for k, c in state.chunks.items() if c.end <= len(turns)}
        known = {t.turn: t for t in state.turns}
        for turn in turns:
            old = known.get(turn.turn)
            if old is not None:
                turn.notices, turn.error, turn.seconds = old.notices, old.error, old.seconds
        state.setup, state.turns = setup, turns

    async def turn(self, state: JobState, number: int, text: str) -> Turn:
        engine = self._engine()
        started = time.perf_counter()
        line = InboundLine(self.key, USER_ID, self.scenario.user_name, text, platform_message_id=f"eval-{number}")
        outcome = await engine.handle(line)
        await self.settle()
        if outcome.duplicate:  # already in the database: take the turn from there
            await self.sync(state)
            return state.turns.pop()
        replies = []
        for output in outcome.outputs:
            if isinstance(output, Utterance):
                replies.append(Line(kind="npc", speaker=output.speaker, text=output.text))
            elif isinstance(output, Narration):
                replies.append(Line(kind="narration", speaker=output.speaker, text=output.text))
        notices = [n.text for n in outcome.notices]
        error = "; ".join(notices) if notices and not any(r.kind == "npc" for r in replies) else None
        return Turn(
            turn=number,
            user=Line(kind="user", speaker=self.scenario.user_name, text=text),
            replies=replies,
            notices=notices,
            error=error,
            seconds=round(time.perf_counter() - started, 3),
        )

    def _engine(self) -> SceneEngine:
        if self.engine is None:
            raise RuntimeError("the engine is not open")
        return self.engine


class BaselineSystem:
    """The plain single-prompt front end; its transcript is the checkpoint."""

    def __init__(self, scenario: Scenario, models: EvalModels) -> None:
        self.scenario = scenario
        self.baseline = Baseline(models.npc)
        self.speaker = speaker_label(scenario)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def prepare(self, state: JobState) -> None:
        scenario = self.scenario
        if not state.setup and scenario.prologue:
            speaker = scenario.character(scenario.prologue_speaker).name if scenario.prologue_speaker else self.speaker
            state.setup = [Line(kind="npc", speaker=speaker, text=scenario.prologue)]

    async def turn(self, state: JobState, number: int, text: str) -> Turn:
        started = time.perf_counter()
        user = Line(kind="user", speaker=self.scenario.user_name, text=text)
        try:
            reply = await self.baseline.reply(self.scenario, [*history_of(state), user])
        except ModelUnavailable as exc:
            return Turn(turn=number, user=user, error=exc.user_message, seconds=round(time.perf_counter() - started, 3))
        replies = [Line(kind="npc", speaker=self.speaker, text=reply)] if reply else []
        return Turn(
            turn=number,
            user=user,
            replies=replies,
            error=None if reply else "empty reply",
            seconds=round(time.perf_counter() - started, 3),
        )


# --- the run ------------------------------------------------------------------------------------------


class Runner:
    """One session over an output folder."""

    def __init__(
        self,
        scenarios: Sequence[Scenario],
        models: EvalModels,
        options: RunOptions,
        rubrics: dict[str, str],
        *,
        on_turn: OnTurn | None = None,
    ) -> None:
        if options.turns < 1 or options.runs < 1 or options.concurrency < 1 or options.chunk_turns < 1:
            raise ValueError("turns, runs, concurrency and chunk size must be at least 1")
        self.scenarios = list(scenarios)
        self.models = models
        self.options = options
        self.simulator = UserSimulator(models.simulator)
        self.judge = Judge(models.judge, rubrics)
        self.checkpoints = Checkpoints(options.out_dir)
        self.budget = SessionBudget(options.max_turns_this_session)
        self.on_turn = on_turn
        self.progress: Progress | None = None

    def jobs(self) -> list[Job]:
        systems: tuple[System, ...] = SYSTEMS if self.options.baseline else ("ensemble",)
        jobs = []
        for scenario in self.scenarios:
            for run in range(1, self.options.runs + 1):
                for system in systems:
                    ident = job_id(scenario.id, system, run)
                    state = self.checkpoints.load(ident) or JobState(job=ident, scenario=scenario.id, system=system, run=run)
                    jobs.append(Job(scenario, system, run, state))
        return jobs

    def _units(self, job: Job) -> tuple[int, int]:
        """Progress steps of a job: (total, already done)."""
        chunks = chunk_ranges(self.options.turns, self.options.chunk_turns)
        total = self.options.turns + len(chunks) * len(DIMENSIONS)
        done = min(len(job.state.turns), self.options.turns)
        for index, (start, end) in enumerate(chunks):
            chunk = job.state.chunks.get(str(index))
            if chunk is not None and (chunk.start, chunk.end) == (start, end):
                done += sum(1 for v in chunk.dimensions.values() if not (v.status == "unscored" and v.retryable))
        return total, done

    async def run(self) -> EvalOutcome:
        started = time.time()
        out = self.options.out_dir
        out.mkdir(parents=True, exist_ok=True)
        self._write_config()
        jobs = self.jobs()
        units = [self._units(job) for job in jobs]
        self.progress = Progress(sum(u[0] for u in units), sum(u[1] for u in units), self.options.progress)
        semaphore = asyncio.Semaphore(self.options.concurrency)

        async def guarded(job: Job) -> None:
            async with semaphore:
                await self._job(job)

        try:
            await asyncio.gather(*(guarded(job) for job in jobs))
        finally:
            self.progress.close()
        return EvalOutcome(jobs, self.options, self.scenarios, self.models.info, started, time.time())

    def _write_config(self) -> None:
        """Record what this folder runs; refuse to resume with a scenario that changed since it started."""
        path = self.options.out_dir / "config.json"
        known: dict[str, Any] = {}
        if path.exists():
            try:
                known = {s["id"]: s for s in json.loads(path.read_text(encoding="utf-8")).get("scenarios", [])}
            except (ValueError, KeyError, TypeError, AttributeError):
                raise EvalStateError(f"{path}: not readable; use a new --out folder.") from None
        scenarios = [{"id": s.id, "source": s.source, "style": s.style.label, "fingerprint": fingerprint(s)} for s in self.scenarios]
        for entry in scenarios:
            before = known.get(entry["id"])
            if before is not None and before.get("fingerprint") != entry["fingerprint"]:
                raise EvalStateError(
                    f"Scenario {entry['id']} ({entry['source']}) changed since {self.options.out_dir} was started; "
                    "use a new --out folder (or restore the scenario)."
                )
        scenarios += [s for sid, s in known.items() if sid not in {e["id"] for e in scenarios}]
        config = {
            "turns": self.options.turns,
            "runs": self.options.runs,
            "chunk_turns": self.options.chunk_turns,
            "baseline": self.options.baseline,
            "scenarios": scenarios,
            "models": self.models.info,
        }
        atomic_write(path, json.dumps(config, ensure_ascii=False, indent=2))

    async def _job(self, job: Job) -> None:
        state = job.state
        state.error = None
        system: EnsembleSystem | BaselineSystem
        if job.system == "ensemble":
            db = self.options.out_dir / "db" / f"{job.scenario.id}--run{job.run}.sqlite"
            system = EnsembleSystem(job.scenario, self.models, db, job.run, self.options.seed)
        else:
            system = BaselineSystem(job.scenario, self.models)
        try:
            await system.open()
            try:
                await system.prepare(state)
                self.checkpoints.save(state)
                await self._play(job, system)
            finally:
                await system.close()
            if len(state.turns) >= self.options.turns:
                await self._judge(job)
        except Exception as exc:  # one job's failure must not stop the others; the checkpoint stays
            state.error = exc.user_message if isinstance(exc, EnsembleError) else f"{type(exc).__name__}: {exc}"
            log.warning("eval.job_failed", job=job.id, error=state.error)
            self.checkpoints.save(state)

    async def _play(self, job: Job, system: EnsembleSystem | BaselineSystem) -> None:
        state = job.state
        scenario = job.scenario
        while len(state.turns) < self.options.turns:
            if not self.budget.take():
                job.stopped = True
                return
            number = len(state.turns) + 1
            if number == 1 and scenario.opening:
                text = scenario.opening
            else:
                text = await self.simulator.next_line(scenario, history_of(state))
            turn = await system.turn(state, number, text)
            state.turns.append(turn)
            self.checkpoints.save(state)
            assert self.progress is not None
            self.progress.update(1, f"{job.id} turn {number}")
            if self.on_turn is not None:
                self.on_turn(job.id, number)
            recent = state.turns[-MAX_FAILED_IN_A_ROW:]
            if len(recent) == MAX_FAILED_IN_A_ROW and all(t.error for t in recent):
                raise JobAborted(f"the NPC side failed {MAX_FAILED_IN_A_ROW} turns in a row (last: {recent[-1].error})")

    async def _judge(self, job: Job) -> None:
        state = job.state
        turns = state.turns[: self.options.turns]
        for index, (start, end) in enumerate(chunk_ranges(self.options.turns, self.options.chunk_turns)):
            chunk = state.chunks.get(str(index))
            if chunk is None or (chunk.start, chunk.end) != (start, end):
                chunk = ChunkResult(index=index, start=start, end=end)
            prompt = chunk_prompt(job.scenario, state.setup, turns, start, end)
            npc_texts = [r.text for t in turns if start <= t.turn <= end for r in t.replies]
            for dimension in DIMENSIONS:
                verdict = chunk.dimensions.get(dimension)
                if verdict is not None and not (verdict.status == "unscored" and verdict.retryable):
                    continue
                chunk.dimensions[dimension] = await self.judge.judge(dimension, prompt, npc_texts)
                state.chunks[str(index)] = chunk
                self.checkpoints.save(state)
                assert self.progress is not None
                self.progress.update(1, f"{job.id} judge {start}-{end}")


async def run_eval(
    scenarios: Sequence[Scenario],
    models: EvalModels,
    options: RunOptions,
    rubrics: dict[str, str],
    *,
    on_turn: OnTurn | None = None,
) -> EvalOutcome:
    """Run (or resume) the protocol in ``options.out_dir``; returns every job's state."""
    return await Runner(scenarios, models, options, rubrics, on_turn=on_turn).run()
