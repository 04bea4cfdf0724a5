"""The reports of a run: ``results.json`` (every turn, finding and score), ``report.md`` and ``report.png``.

Scores: a dimension's score for a system is the mean of its scored chunk verdicts (over scenarios and
runs); categories and the overall score are computed from those means with the judge's weights.
Unscored verdicts are counted and listed, never filled in. Detector rates are findings per NPC reply from
the quality detectors (computed the way ``python -m bot lint-transcript`` does it), beside the judge.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.eval.judge import CATEGORIES, DIMENSIONS, WEIGHTS, category_scores, chunk_ranges, overall_score
from bot.eval.records import SYSTEMS, Turn
from bot.eval.runner import EvalOutcome, Job, atomic_write, is_complete
from bot.quality.findings import DETECTORS
from bot.quality.lint import lint
from bot.quality.text import word_count
from bot.quality.transcript import Transcript, TranscriptLine

FORMAT = "ensemble-eval/1"
SYSTEM_TITLES = {"ensemble": "Ensemble", "baseline": "baseline"}
DIMENSION_TITLES = {
    "worlds_basics": "Worlds: basics",
    "worlds_logic": "Worlds: logic",
    "worlds_knowledge": "Worlds: knowledge",
    "stories_diversity": "Stories: diversity",
    "stories_content_logic": "Stories: content logic",
    "preferences_interaction": "Preferences: interaction",
}
FINDINGS_SHOWN = 12


@dataclass(frozen=True)
class ReportPaths:
    json: Path
    markdown: Path
    png: Path
    results: dict[str, Any]


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return round(sum(items) / len(items), 2) if items else None


# --- per job ------------------------------------------------------------------------------------------


def lint_turns(turns: Sequence[Turn], *, user_name: str, characters: Sequence[str] | None, language: str,
               min_words: int, max_words: int, name: str) -> dict[str, Any]:
    """The quality detectors over the NPC replies of some turns, via the linter's own computation."""
    lines: list[TranscriptLine] = []
    for turn in turns:
        for line in (turn.user, *turn.replies):
            lines.append(
                TranscriptLine(index=len(lines), kind=line.kind, speaker=line.speaker, text=line.text, turn=turn.turn, line=len(lines) + 1)
            )
    report = lint(
        Transcript(path=name, format="export", lines=tuple(lines)),
        user_names=[user_name],
        characters=list(characters) if characters else None,
        scene_language=language,
        min_words=min_words,
        max_words=max_words,
    )
    return {"npc_replies": report["npc_replies"], "counts": report["counts"], "rates": report["rates"]}


def _reply_words(turns: Iterable[Turn]) -> list[int]:
    return [word_count(r.text) for t in turns for r in t.npc_replies]


def job_result(job: Job, turns_target: int, chunk_turns: int, complete: bool) -> dict[str, Any]:
    state = job.state
    scenario = job.scenario
    turns = state.turns[:turns_target]
    length = scenario.world.settings.reply_length
    chunks = []
    for index, (start, end) in enumerate(chunk_ranges(turns_target, chunk_turns)):
        in_chunk = [t for t in turns if start <= t.turn <= end]
        chunk = state.chunks.get(str(index))
        verdicts = chunk.dimensions if chunk is not None and (chunk.start, chunk.end) == (start, end) else {}
        scores = {d: v.score for d, v in verdicts.items() if v.status == "scored"}
        words = _reply_words(in_chunk)
        chunks.append(
            {
                "index": index,
                "start": start,
                "end": end,
                "turns_played": len(in_chunk),
                "dimensions": {d: verdicts[d].model_dump() for d in DIMENSIONS if d in verdicts},
                "categories": category_scores(scores) if scores else dict.fromkeys(CATEGORIES),
                "overall": overall_score(scores),
                "npc_replies": len(words),
                "mean_reply_words": _mean(words),
            }
        )
    dimension_scores = {
        d: _mean(c["dimensions"][d]["score"] for c in chunks if c["dimensions"].get(d, {}).get("status") == "scored")
        for d in DIMENSIONS
    }
    return {
        "id": job.id,
        "scenario": scenario.id,
        "system": job.system,
        "run": job.run,
        "complete": complete,
        "error": state.error,
        "turns_played": len(turns),
        "failed_turns": sum(1 for t in turns if t.error),
        "dimensions": dimension_scores,
        "categories": category_scores(dimension_scores),
        "overall": overall_score(dimension_scores),
        "mean_reply_words": _mean(_reply_words(turns)),
        "detectors": lint_turns(
            turns,
            user_name=scenario.user_name,
            characters=scenario.cast_names if job.system == "ensemble" else None,
            language=scenario.language,
            min_words=length.min_words,
            max_words=length.max_words,
            name=job.id,
        ),
        "chunks": chunks,
        "transcript": {
            "setup": [line.model_dump() for line in state.setup],
            "turns": [t.model_dump() for t in turns],
        },
    }


# --- aggregates ---------------------------------------------------------------------------------------


def _verdicts(jobs: Sequence[dict[str, Any]], chunk_index: int | None = None) -> dict[str, list[float]]:
    scores: dict[str, list[float]] = {d: [] for d in DIMENSIONS}
    for job in jobs:
        for chunk in job["chunks"]:
            if chunk_index is not None and chunk["index"] != chunk_index:
                continue
            for dimension, verdict in chunk["dimensions"].items():
                if verdict["status"] == "scored" and verdict["score"] is not None:
                    scores[dimension].append(verdict["score"])
    return scores


def system_summary(jobs: Sequence[dict[str, Any]], turns_target: int, chunk_turns: int) -> dict[str, Any]:
    scores = _verdicts(jobs)
    dimensions = {d: _mean(v) for d, v in scores.items()}
    counts = dict.fromkeys(DETECTORS, 0)
    replies = 0
    for job in jobs:
        replies += job["detectors"]["npc_replies"]
        for detector, count in job["detectors"]["counts"].items():
            counts[detector] = counts.get(detector, 0) + count
    by_chunk = []
    for index, (start, end) in enumerate(chunk_ranges(turns_target, chunk_turns)):
        chunk_scores = {d: _mean(v) for d, v in _verdicts(jobs, index).items()}
        chunk_words = [
            word_count(r["text"])
            for job in jobs
            for t in job["transcript"]["turns"]
            if start <= t["turn"] <= end
            for r in t["replies"]
            if r["kind"] == "npc"
        ]
        by_chunk.append(
            {
                "index": index,
                "start": start,
                "end": end,
                "dimensions": chunk_scores,
                "categories": category_scores(chunk_scores),
                "overall": overall_score(chunk_scores),
                "mean_reply_words": _mean(chunk_words),
            }
        )
    verdicts = [v for job in jobs for c in job["chunks"] for v in c["dimensions"].values()]
    return {
        "jobs": len(jobs),
        "complete_jobs": sum(1 for j in jobs if j["complete"]),
        "turns_played": sum(j["turns_played"] for j in jobs),
        "failed_turns": sum(j["failed_turns"] for j in jobs),
        "dimensions": dimensions,
        "categories": category_scores(dimensions),
        "overall": overall_score(dimensions),
        "verdicts_scored": sum(1 for v in verdicts if v["status"] == "scored"),
        "verdicts_unscored": sum(1 for v in verdicts if v["status"] == "unscored"),
        "mean_reply_words": _mean(w for j in jobs for w in _job_words(j)),
        "detectors": {
            "npc_replies": replies,
            "counts": counts,
            "rates": {d: round(counts[d] / replies, 4) if replies else 0.0 for d in DETECTORS},
        },
        "by_chunk": by_chunk,
    }


def _job_words(job: dict[str, Any]) -> list[int]:
    return [word_count(r["text"]) for t in job["transcript"]["turns"] for r in t["replies"] if r["kind"] == "npc"]


def build_results(outcome: EvalOutcome) -> dict[str, Any]:
    """The whole run as one JSON-ready document."""
    options = outcome.options
    jobs = [job_result(j, options.turns, options.chunk_turns, is_complete(j, options)) for j in outcome.jobs]
    systems = [s for s in SYSTEMS if any(j["system"] == s for j in jobs)]
    scenarios = []
    for scenario in outcome.scenarios:
        entry: dict[str, Any] = {
            "id": scenario.id,
            "title": scenario.title,
            "kind": scenario.kind,
            "source": scenario.source,
            "world": scenario.world.id,
            "language": scenario.language,
            "cast": scenario.cast_names,
            "user": scenario.user_name,
            "style": scenario.style.label,
            "systems": {},
        }
        for system in systems:
            mine = [j for j in jobs if j["scenario"] == scenario.id and j["system"] == system]
            summary = system_summary(mine, options.turns, options.chunk_turns)
            entry["systems"][system] = {k: summary[k] for k in ("overall", "categories", "dimensions", "failed_turns", "mean_reply_words")}
        scenarios.append(entry)
    return {
        "format": FORMAT,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "out_dir": str(options.out_dir),
        "complete": outcome.complete,
        "config": {
            "turns": options.turns,
            "runs": options.runs,
            "chunk_turns": options.chunk_turns,
            "concurrency": options.concurrency,
            "baseline": options.baseline,
        },
        "models": outcome.models,
        "weights": {"categories": WEIGHTS, "dimensions": {c: list(d) for c, d in CATEGORIES.items()}},
        "summary": {s: system_summary([j for j in jobs if j["system"] == s], options.turns, options.chunk_turns) for s in systems},
        "scenarios": scenarios,
        "jobs": jobs,
    }


# --- Markdown -----------------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _delta(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a - b:+.1f}"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def local_notice(models: dict[str, Any]) -> str:
    """One sentence when any model is the local test server (``bot.testing.openai_server``), else ""."""
    local = [role for role in ("npc", "simulator", "judge") if (models.get(role) or {}).get("local_server")]
    if not local:
        return ""
    parts = []
    if "judge" in local:
        parts.append(
            "Scores come from the local test server: its judge is a heuristic over the quality detectors "
            "(bot/testing/roleplay_responder.py), not a language model"
        )
    if "npc" in local:
        parts.append("the NPC lines are the server's stock lines")
    if "simulator" in local and "judge" not in local:
        parts.append("the user simulator is the local test server's")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ". These figures test the harness, not a model's role-play."


def empty_chart_reason(results: dict[str, Any]) -> str | None:
    """Why the score chart has no point, or ``None`` when it has one."""
    summary = results["summary"]
    if any(c["overall"] is not None for s in summary.values() for c in s["by_chunk"]):
        return None
    if not summary:
        return "no jobs in this run"
    scored = sum(s["verdicts_scored"] for s in summary.values())
    unscored = sum(s["verdicts_unscored"] for s in summary.values())
    if scored == 0 and unscored == 0:
        return "no chunk has been judged yet (the run stopped before a chunk was complete)"
    if scored == 0:
        return f"all {unscored} judge verdicts were unscored (see Problems in report.md)"
    return (
        f"no chunk has a score for every category ({unscored} of {scored + unscored} verdicts unscored; "
        "an overall score needs Worlds, Stories and Preferences)"
    )


def render_markdown(results: dict[str, Any]) -> str:
    summary = results["summary"]
    systems = list(summary)
    titles = [SYSTEM_TITLES[s] for s in systems]
    config = results["config"]
    models = results.get("models") or {}
    out = ["# Ensemble evaluation", ""]
    notice = local_notice(models)
    if notice:
        out += [f"> **{notice}**", ""]
    status = "complete" if results["complete"] else "INCOMPLETE: run the same command again to continue"
    out.append(f"- Output: `{results['out_dir']}` ({status})")
    for role, label in (("npc", "NPC"), ("simulator", "Simulator"), ("judge", "Judge")):
        if role in models:
            out.append(f"- {label} model: `{models[role].get('model', '?')}` at `{models[role].get('base_url') or 'default'}`")
    out.append(
        f"- {len(results['scenarios'])} scenario(s), {config['turns']} turns x {config['runs']} run(s), "
        f"judged on {config['chunk_turns']}-turn chunks; generated {results['generated']}"
    )
    out.append("")
    out.append("## Overall")
    out.append("")
    out.append("Scores 0-100, NPC side only. Overall = 50% Worlds + 25% Stories + 25% Preferences.")
    out.append("")
    out.append("| system | Overall | Worlds | Stories | Preferences | verdicts scored | unscored | turns | failed turns | mean reply words |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for system, title in zip(systems, titles, strict=True):
        s = summary[system]
        c = s["categories"]
        out.append(
            f"| {title} | {_fmt(s['overall'])} | {_fmt(c['worlds'])} | {_fmt(c['stories'])} | {_fmt(c['preferences'])} "
            f"| {s['verdicts_scored']} | {s['verdicts_unscored']} | {s['turns_played']} | {s['failed_turns']} | {_fmt(s['mean_reply_words'])} |"
        )
    out.append("")
    out.append("## By dimension")
    out.append("")
    header = "| dimension | " + " | ".join(titles) + (" | difference |" if len(systems) == 2 else " |")
    out.append(header)
    out.append("| --- " * (len(systems) + 1 + (len(systems) == 2)) + "|")
    rows = [(DIMENSION_TITLES[d], [summary[s]["dimensions"][d] for s in systems]) for d in DIMENSIONS]
    rows += [(f"**{c.capitalize()}** ({int(WEIGHTS[c] * 100)}%)", [summary[s]["categories"][c] for s in systems]) for c in CATEGORIES]
    rows.append(("**Overall**", [summary[s]["overall"] for s in systems]))
    for label, values in rows:
        line = f"| {label} | " + " | ".join(_fmt(v) for v in values)
        if len(systems) == 2:
            line += f" | {_delta(values[0], values[1])}"
        out.append(line + " |")
    out.append("")
    out.append("## By turn chunk")
    out.append("")
    out.append("| turns | " + " | ".join(f"{t} overall" for t in titles) + " | " + " | ".join(f"{t} reply words" for t in titles) + " |")
    out.append("| --- " * (1 + 2 * len(systems)) + "|")
    chunks = summary[systems[0]]["by_chunk"] if systems else []
    for index, chunk in enumerate(chunks):
        scores = [_fmt(summary[s]["by_chunk"][index]["overall"]) for s in systems]
        words = [_fmt(summary[s]["by_chunk"][index]["mean_reply_words"]) for s in systems]
        out.append(f"| {chunk['start']}-{chunk['end']} | " + " | ".join(scores) + " | " + " | ".join(words) + " |")
    out.append("")
    out.append("## Detector rates")
    out.append("")
    out.append("Findings per NPC reply from the quality detectors (the same computation as `python -m bot lint-transcript`).")
    out.append("")
    out.append("| detector | " + " | ".join(titles) + " |")
    out.append("| --- " * (1 + len(systems)) + "|")
    for detector in DETECTORS:
        out.append(f"| {detector} | " + " | ".join(f"{summary[s]['detectors']['rates'][detector]:.3f}" for s in systems) + " |")
    out.append("| NPC replies | " + " | ".join(str(summary[s]["detectors"]["npc_replies"]) for s in systems) + " |")
    out.append("")
    out.append("## By scenario")
    out.append("")
    out.append("| scenario | style | system | Overall | Worlds | Stories | Preferences | failed turns | mean reply words |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for scenario in results["scenarios"]:
        for system, entry in scenario["systems"].items():
            c = entry["categories"]
            out.append(
                f"| {_cell(scenario['id'])} | {scenario['style']} | {SYSTEM_TITLES[system]} | {_fmt(entry['overall'])} | {_fmt(c['worlds'])} "
                f"| {_fmt(c['stories'])} | {_fmt(c['preferences'])} | {entry['failed_turns']} | {_fmt(entry['mean_reply_words'])} |"
            )
    problems = [
        (job, chunk, dimension, verdict)
        for job in results["jobs"]
        for chunk in job["chunks"]
        for dimension, verdict in chunk["dimensions"].items()
        if verdict["status"] == "unscored"
    ]
    errors = [job for job in results["jobs"] if job["error"] or not job["complete"]]
    if problems or errors:
        out.append("")
        out.append("## Problems")
        out.append("")
        for job in errors:
            state = f"stopped: {_cell(job['error'])}" if job["error"] else "incomplete"
            out.append(f"- `{job['id']}`: {state} ({job['turns_played']}/{config['turns']} turns)")
        if problems:
            if errors:
                out.append("")
            out.append("| job | turns | dimension | error |")
            out.append("| --- | --- | --- | --- |")
            for job, chunk, dimension, verdict in problems:
                out.append(f"| `{job['id']}` | {chunk['start']}-{chunk['end']} | {dimension} | {_cell(verdict['error'] or '')} |")
    out.append("")
    out.append("## Judge findings")
    out.append("")
    for system, title in zip(systems, titles, strict=True):
        found = [
            (job, chunk, dimension, finding)
            for job in results["jobs"]
            if job["system"] == system
            for chunk in job["chunks"]
            for dimension, verdict in chunk["dimensions"].items()
            for finding in verdict["findings"]
        ]
        out.append(f"### {title} ({len(found)} findings)")
        out.append("")
        for job, chunk, dimension, finding in found[:FINDINGS_SHOWN]:
            mark = "" if finding["quote_found"] else " (quote not found in the transcript)"
            out.append(
                f"- `{job['scenario']}` run {job['run']}, turns {chunk['start']}-{chunk['end']}, {dimension}: "
                f"\"{_cell(finding['quote'])}\": {_cell(finding['problem'])}{mark}"
            )
        if len(found) > FINDINGS_SHOWN:
            out.append(f"- ... {len(found) - FINDINGS_SHOWN} more in results.json")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- plot ---------------------------------------------------------------------------------------------


def render_plot(results: dict[str, Any], path: Path) -> None:
    """Write ``build_figure``'s chart as a PNG (atomically)."""
    fig = build_figure(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    tmp.replace(path)


def build_figure(results: dict[str, Any]) -> Any:
    """Score and mean reply length per chunk, one line per system (matplotlib's Agg canvas, no pyplot).

    Both axes start at zero; a chart with nothing to plot says why in its middle.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = results["summary"]
    fig = Figure(figsize=(8, 6.5))
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    labels: list[str] = []
    for system in summary:
        chunks = summary[system]["by_chunk"]
        labels = [f"{c['start']}-{c['end']}" for c in chunks]
        xs = list(range(len(chunks)))
        scores = [math.nan if c["overall"] is None else c["overall"] for c in chunks]
        words = [math.nan if c["mean_reply_words"] is None else c["mean_reply_words"] for c in chunks]
        style = "-o" if system == "ensemble" else "--s"
        top.plot(xs, scores, style, label=SYSTEM_TITLES[system])
        bottom.plot(xs, words, style, label=SYSTEM_TITLES[system])
    top.set_ylabel("overall score (0-100)")
    top.set_ylim(0, 100)
    title = "Ensemble vs baseline per turn chunk" if len(summary) > 1 else "Ensemble per turn chunk"
    if local_notice(results.get("models") or {}):
        title += "\n(local test server: heuristic judge, not a model)"
    top.set_title(title)
    reason = empty_chart_reason(results)
    if reason:
        top.text(0.5, 0.5, f"No score to plot: {reason}", ha="center", va="center", wrap=True,
                 transform=top.transAxes, fontsize=9, color="0.3")
    top.grid(True, alpha=0.3)
    if summary and not reason:
        top.legend(loc="lower left")
    bottom.set_ylabel("mean NPC reply length (words)")
    # From zero: a 0.15-word difference must look like one, not like a cliff.
    top_words = max([w for s in summary.values() for c in s["by_chunk"] if (w := c["mean_reply_words"]) is not None] or [1])
    bottom.set_ylim(0, top_words * 1.15)
    bottom.set_xlabel("turns")
    bottom.grid(True, alpha=0.3)
    bottom.set_xticks(list(range(len(labels))))
    bottom.set_xticklabels(labels)
    fig.tight_layout()
    return fig


def write_reports(outcome: EvalOutcome) -> ReportPaths:
    """Write ``results.json``, ``report.md`` and ``report.png`` into the output folder."""
    out = outcome.options.out_dir
    results = build_results(outcome)
    paths = ReportPaths(out / "results.json", out / "report.md", out / "report.png", results)
    atomic_write(paths.json, json.dumps(results, ensure_ascii=False, indent=1))
    atomic_write(paths.markdown, render_markdown(results))
    render_plot(results, paths.png)
    return paths
