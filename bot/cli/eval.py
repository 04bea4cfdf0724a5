"""``python -m bot eval``: the benchmark harness (Role-Play Bench protocol, Ensemble against a baseline).

A simulated user plays every scenario for T turns x R runs against the full engine and against a plain
single-prompt baseline on the same model; a judge scores the NPC side per 20-turn chunk. Writes
``results.json``, ``report.md`` and ``report.png`` into the output folder. Interrupted? Run the same
command again (same ``--out``): every job continues at its next turn.

Endpoints: the NPC model from ``LLM_BASE_URL``/``LLM_API_KEY``/``LLM_MODEL``; the simulator from
``SIM_BASE_URL``/``SIM_API_KEY``/``SIM_MODEL`` and the judge from ``JUDGE_BASE_URL``/``JUDGE_API_KEY``/
``JUDGE_MODEL``, each falling back to the NPC endpoint. Exit code 0 when the run is complete, 1 when
it stopped before the end (resumable), 2 on bad settings or input files.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError, EnsembleError
from bot.settings import ModelConfig

DEFAULT_SCENARIO_DIR = Path("eval/scenarios")
DEFAULT_SEED_DIR = Path("eval/seeds")


class EvalSettings(BaseSettings):
    """The simulator's and the judge's endpoints; anything unset falls back to the NPC endpoint."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    sim_base_url: str | None = Field(None, validation_alias="SIM_BASE_URL")
    sim_api_key: SecretStr | None = Field(None, validation_alias="SIM_API_KEY")
    sim_model: str | None = Field(None, validation_alias="SIM_MODEL")
    judge_base_url: str | None = Field(None, validation_alias="JUDGE_BASE_URL")
    judge_api_key: SecretStr | None = Field(None, validation_alias="JUDGE_API_KEY")
    judge_model: str | None = Field(None, validation_alias="JUDGE_MODEL")

    def simulator(self, npc: ModelConfig) -> ModelConfig:
        return _endpoint("SIM", self.sim_base_url, self.sim_api_key, self.sim_model, npc)

    def judge(self, npc: ModelConfig) -> ModelConfig:
        return _endpoint("JUDGE", self.judge_base_url, self.judge_api_key, self.judge_model, npc)


def _endpoint(prefix: str, base_url: str | None, api_key: SecretStr | None, model: str | None, npc: ModelConfig) -> ModelConfig:
    """An endpoint from its own variables; the NPC key is never sent to another server."""
    key = api_key.get_secret_value() if api_key is not None else ""
    if base_url and base_url.rstrip("/") != (npc.base_url or "").rstrip("/") and not key:
        raise ConfigError(f"Set {prefix}_API_KEY: {prefix}_BASE_URL points to another server than LLM_BASE_URL.")
    if base_url and not (model or "").strip():
        raise ConfigError(f"Set {prefix}_MODEL to the model name {prefix}_BASE_URL serves.")
    name = (model or "").strip() or npc.model
    return ModelConfig(
        base_url=base_url or npc.base_url,
        api_key=key or npc.api_key,
        model=name,
        narrator_model=None,
        native_roles=npc.native_roles if name == npc.model else None,
        request_timeout=npc.request_timeout,
        max_attempts=npc.max_attempts,
        max_total_seconds=npc.max_total_seconds,
    )


def load_eval_settings() -> EvalSettings:
    try:
        return EvalSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first.get("loc") else "a setting"
        raise ConfigError(f"The setting {variable} is invalid: {first['msg']}.") from None


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "eval",
        help="run the role-play benchmark (Ensemble vs a plain-prompt baseline, LLM judge)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", action="append", type=Path, default=None, metavar="FILE",
                        help="a scenario YAML file (repeatable; default: eval/scenarios/*.yaml unless --seeds is given)")
    parser.add_argument("--seeds", action="append", type=Path, default=None, metavar="FILE",
                        help="Role-Play Bench seeds, JSON Lines or JSON (repeatable; default: eval/seeds/* unless --scenario is given)")
    parser.add_argument("--seed-style", default="active-slow", metavar="STYLE",
                        help="simulator style for seeds: active|passive - slow|fast (default active-slow)")
    parser.add_argument("--turns", type=int, default=100, help="user turns per run (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario and system (default 3)")
    parser.add_argument("--concurrency", type=int, default=2, help="jobs played at the same time (default 2)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder; an existing one is resumed (default eval-runs/run-DATE-TIME)")
    parser.add_argument("--no-baseline", action="store_true", help="run Ensemble only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--rubrics", type=Path, default=None, metavar="DIR",
                        help="judge rubric folder (default: the packaged bot/eval/rubrics)")
    parser.add_argument("--max-turns-this-session", type=int, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


@dataclass
class _Endpoints:
    npc: ModelConfig
    simulator: ModelConfig
    judge: ModelConfig
    narrator_model: str | None


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _default_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes)


def run(args: argparse.Namespace) -> int:
    from bot.app import setup_logging
    from bot.settings import load_settings

    try:
        settings = load_settings()
        npc = settings.require_model()
        extra = load_eval_settings()
        endpoints = _Endpoints(npc, extra.simulator(npc), extra.judge(npc), settings.narrator_model or None)
    except EnsembleError as exc:
        return _fail(exc.user_message)
    missing = [m for m in ("matplotlib", "tqdm") if importlib.util.find_spec(m) is None]
    if missing:
        return _fail(f"The evaluation needs {' and '.join(missing)}: pip install -e '.[eval]'.")
    for name in ("turns", "runs", "concurrency"):
        if getattr(args, name) < 1:
            return _fail(f"--{name} must be at least 1.")
    if args.max_turns_this_session is not None and args.max_turns_this_session < 0:
        return _fail("--max-turns-this-session must not be negative.")

    from bot.eval.judge import load_rubrics
    from bot.eval.scenarios import (
        SCENARIO_SUFFIXES,
        SEED_SUFFIXES,
        Scenario,
        Style,
        check_unique,
        load_scenario_file,
        load_seed_file,
    )

    try:
        style = Style.parse(args.seed_style)
    except ValueError as exc:
        return _fail(f"--seed-style: {exc}.")
    scenario_files = args.scenario
    seed_files = args.seeds
    if scenario_files is None and seed_files is None:
        scenario_files = _default_files(DEFAULT_SCENARIO_DIR, SCENARIO_SUFFIXES)
        seed_files = _default_files(DEFAULT_SEED_DIR, SEED_SUFFIXES)
    scenario_files, seed_files = scenario_files or [], seed_files or []
    if not scenario_files and not seed_files:
        return _fail("No scenarios: pass --scenario FILE or --seeds FILE (or run from a checkout with eval/scenarios).")
    try:
        rubrics = load_rubrics(args.rubrics)
        scenarios: list[Scenario] = []
        if scenario_files:
            from bot.app import load_library

            library = load_library(settings)
            scenarios += [load_scenario_file(path, library) for path in scenario_files]
        for path in seed_files:
            scenarios += load_seed_file(path, style)
        check_unique(scenarios)
    except EnsembleError as exc:
        return _fail(exc.user_message)

    setup_logging(settings, default_level="WARNING")
    out = args.out or Path("eval-runs") / datetime.now().strftime("run-%Y%m%d-%H%M%S")
    resuming = (out / "state").is_dir()
    print(f"{'Resuming' if resuming else 'Writing'} {out}: {len(scenarios)} scenario(s), {args.turns} turns x {args.runs} run(s)"
          f"{'' if args.no_baseline else ', Ensemble and baseline'}.", flush=True)
    try:
        outcome = asyncio.run(_evaluate(scenarios, endpoints, args, out, rubrics))
    except KeyboardInterrupt:
        print(f"\nInterrupted. Every finished turn is saved; continue with: python -m bot eval ... --out {out}", file=sys.stderr)
        return 130
    except EnsembleError as exc:
        return _fail(exc.user_message)

    from bot.eval.report import write_reports

    paths = write_reports(outcome)
    _print_summary(outcome, paths)
    if outcome.complete:
        return 0
    for error in outcome.errors:
        print(f"stopped: {error}", file=sys.stderr)
    print(f"The run is not complete; run the same command with --out {out} to continue.", file=sys.stderr)
    return 1


async def _evaluate(scenarios: list[Any], endpoints: _Endpoints, args: argparse.Namespace, out: Path, rubrics: dict[str, str]) -> Any:
    from bot.app import build_model
    from bot.eval.runner import EvalModels, RunOptions, run_eval

    npc = build_model(endpoints.npc)
    simulator = build_model(endpoints.simulator)
    judge = build_model(endpoints.judge)
    info: dict[str, Any] = {}
    for role, config in (("npc", endpoints.npc), ("simulator", endpoints.simulator), ("judge", endpoints.judge)):
        info[role] = {"model": config.model, "base_url": config.base_url}
        if await is_local_server(config):
            info[role]["local_server"] = True
    models = EvalModels(npc, simulator, judge, npc_model=endpoints.npc.model, narrator_model=endpoints.narrator_model, info=info)
    options = RunOptions(
        out_dir=out,
        turns=args.turns,
        runs=args.runs,
        concurrency=args.concurrency,
        baseline=not args.no_baseline,
        progress=not args.no_progress,
        max_turns_this_session=args.max_turns_this_session,
    )
    try:
        return await run_eval(scenarios, models, options, rubrics)
    finally:
        for model in (npc, simulator, judge):
            await model.aclose()


LOCAL_OWNER = "ensemble-fake"  # what bot.testing.openai_server answers in /v1/models "owned_by"


async def is_local_server(config: ModelConfig) -> bool:
    """Whether the endpoint is Ensemble's own local test server, so the report can say its scores are not a model's.

    Asked once per endpoint through ``/v1/models`` (the server lists its models as owned by
    ``LOCAL_OWNER``); any failure means "not known to be local".
    """
    from openai import AsyncOpenAI, OpenAIError

    client = AsyncOpenAI(base_url=config.base_url, api_key=config.api_key or "none", timeout=5.0, max_retries=0)
    try:
        page = await client.models.list()
        return any(getattr(m, "owned_by", None) == LOCAL_OWNER for m in page.data)
    except (OpenAIError, ValueError):
        return False
    finally:
        await client.close()


def _print_summary(outcome: Any, paths: Any) -> None:
    results = paths.results
    parts = []
    for system, summary in results["summary"].items():
        value = summary["overall"]
        parts.append(f"{'Ensemble' if system == 'ensemble' else 'baseline'} {'n/a' if value is None else f'{value:.1f}'}")
    complete = sum(1 for job in results["jobs"] if job["complete"])
    print(f"Overall: {' vs '.join(parts)} ({complete}/{len(results['jobs'])} jobs complete).")
    local = [role for role, m in (results.get("models") or {}).items() if m.get("local_server")]
    if local:
        print(f"Note:    {', '.join(local)} answered by the local test server; the scores are not a model's judgement.")
    print(f"Report:  {paths.markdown}")
    print(f"JSON:    {paths.json}")
    print(f"Plot:    {paths.png}")
