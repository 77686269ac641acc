"""The bundle's README.md: a dataset card written from the study's design, counts, results and tables.

Everything in it comes from the data (no generation time), so it is part of the same-bytes promise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from annotations.research.export.writers import Column

LOAD_PANDAS = """```python
import pandas as pd

judgements = pd.read_parquet("parquet/judgements.parquet")
counted = judgements[judgements.flag.isna() & ~judgements.is_gold]   # what the statistics use
pairwise = counted[counted.kind == "pairwise"]
```"""
LOAD_DATASETS = """```python
from datasets import load_dataset

# One table per call: the tables have different columns.
judgements = load_dataset("parquet", data_files="parquet/judgements.parquet", split="train")
clips = load_dataset("parquet", data_files="parquet/clips.parquet", split="train")
```"""


MEASURES = {
    "pairwise": ("alpha_nominal", "fleiss", "percent"),
    "likert": ("alpha_ordinal", "alpha_interval", "fleiss", "percent"),
}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(ci: Sequence[float] | None) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "-"


def _measure_line(measure: dict[str, Any]) -> str:
    if measure.get("value") is None:
        return f"- {measure['name']}: not available ({measure.get('unavailable', 'no data')})"
    ci = f", 95% interval {_interval(measure['ci95'])}" if measure.get("ci95") else ""
    return (
        f"- {measure['name']}: {measure['value']:.3f}{ci} "
        f"({measure['n_units']} items, {measure['n_ratings']} judgements)"
    )


def _agreement_section(results: dict[str, Any]) -> list[str]:
    lines = ["## Agreement between coaches", ""]
    agreement = results.get("agreement", {})
    if not agreement:
        return [*lines, "No judgements yet.", ""]
    for kind in ("pairwise", "likert"):
        section = agreement.get(kind)
        if not section:
            continue
        overall = section["overall"]
        lines.append(f"### {kind.title()}")
        lines.append("")
        # A fixed order: the cached report comes back from PostgreSQL's jsonb with its keys reordered.
        keys = MEASURES[kind]
        lines.extend(_measure_line(overall[key]) for key in keys if key in overall)
        lines.append("")
        lines.append(section["how"])
        lines.append("")
    lines.append("Per sport and per method pair: `agreement.json`.")
    lines.append("")
    return lines


def _leaderboard_section(results: dict[str, Any]) -> list[str]:
    board = results.get("leaderboard", {})
    lines = ["## Leaderboard (pairwise)", ""]
    if not board.get("methods"):
        reason = board.get("unavailable", "no pairwise comparisons")
        return [*lines, f"Not available: {reason}.", ""]
    lines.append("| method | log-strength | 95% interval | wins | losses | ties | neither |")
    lines.append("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for row in board["methods"]:
        lines.append(
            f"| {row['method']} | {row['log_strength']:.3f} | {_interval(row['ci95'])} | {row['wins']} | "
            f"{row['losses']} | {row['ties']} | {row['neither']} |"
        )
    if board.get("estimator", "maximum likelihood") != "maximum likelihood":
        lines += ["", f"Estimated by {board['estimator']}."]
    lines += ["", board["how"], ""]
    return lines


def _likert_section(results: dict[str, Any]) -> list[str]:
    likert = results.get("likert", {})
    if not likert.get("methods"):
        return []
    lines = [
        "## Likert scores",
        "",
        "| method | scores | mean | 95% interval | median |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for row in likert["methods"]:
        lines.append(
            f"| {row['method']} | {row['n_scores']} | {_fmt(row['mean'])} | {_interval(row['mean_ci95'])} | "
            f"{_fmt(row['median'], 1)} |"
        )
    lines += ["", likert["how"], ""]
    return lines


def _table_section(name: str, columns: Sequence[Column], rows: int) -> list[str]:
    lines = [f"### `{name}` ({rows} rows)", "", "| column | type | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{c.name}` | {c.kind.replace('_', ' of ')} | {c.description} |" for c in columns]
    lines.append("")
    return lines


def dataset_card(
    results: dict[str, Any],
    tables: dict[str, tuple[Sequence[Column], int]],
    *,
    include_identities: bool,
    coachbench_version: str,
) -> str:
    study = results["study"]
    counts = results["counts"]
    lines = [
        f"# {study['title']}",
        "",
        f"Expert coach judgements of instructional clips retrieved for sports mistake queries: study "
        f"`{study['slug']}`, exported by coachbench {coachbench_version}.",
        "",
        "## Design",
        "",
        f"- Tasks: {study['kinds']}. Methods compared: {', '.join(study['methods']) or '-'}; the top "
        f"{study['depth_k']} clips of each method per query.",
        f"- Each item was to be judged by {study['raters_per_item']} coaches; gold checks with known answers "
        f"were mixed in at a rate of {study['gold_rate']:.0%}; the random seed was {study['seed']}.",
        "- Blinding: coaches never saw method names. In pairwise items the side (left/right) of each method's "
        "clip was randomised and balanced per method pair; `choice` is what the coach clicked on screen, "
        "`winner` the same answer mapped back to the stored clips a/b.",
        "- A pairwise comparison where both methods returned the same clip was not shown; it is listed in "
        "`identical_pairs`.",
        "",
    ]
    if study.get("pairwise_question"):
        lines += ["Pairwise question, exactly as shown:", "", f"> {study['pairwise_question']}", ""]
        lines += ["Answers: left clip helps more, right clip helps more, equally helpful, neither helps.", ""]
    if study.get("likert_question"):
        lines += ["Likert question, exactly as shown:", "", f"> {study['likert_question']}", ""]
        labels = study.get("scale_labels") or {}
        points = ", ".join(f"{p}" + (f" ({labels[str(p)]})" if str(p) in labels else "") for p in study["scale"])
        lines += [f"Scale: {points}.", ""]
    lines += [
        "## Counts",
        "",
        f"- Items: {counts['items']} ({counts['gold_items']} gold); queries judged: {counts['queries']}.",
        f"- Judgements: {counts['judgements']}, of which {counts['flagged']} flagged by the coach instead of "
        f"answered (kept in the tables, left out of every statistic) and {counts['on_gold']} on gold items.",
        f"- Counted in the statistics: {counts['counted']} ({counts['pairwise']} pairwise, {counts['likert']} Likert).",
        f"- Coaches: {counts['coaches']}.",
        f"- First judgement: {counts['first_judgement'] or '-'}; last change: {counts['last_change'] or '-'} (UTC).",
        "",
        *_agreement_section(results),
        *_leaderboard_section(results),
        *_likert_section(results),
        "## Coaches and privacy",
        "",
        "Coaches are named by pseudonymous ids (`coach-` and 16 hex digits), an HMAC of the study and the "
        "account under a secret key: stable within this study, different in every other study."
        + (
            " This bundle was exported WITH identities: `coaches` holds names, emails and credentials. "
            "Handle it as personal data."
            if include_identities
            else " Names, emails and credentials are not included."
        ),
        "",
        "## Files",
        "",
        "Each table is in `parquet/`, `csv/` and `jsonl/` with the same rows in the same order. In CSV, lists "
        "are JSON arrays and an empty cell is a missing value; times are ISO 8601 in UTC. `agreement.json` "
        "holds agreement overall, per sport and per method pair; `leaderboard.csv` the Bradley-Terry table; "
        "`results.json` every figure of the study report with how it was computed; `manifest.json` the "
        "SHA-256 of every file.",
        "",
        "## Loading",
        "",
        LOAD_PANDAS,
        "",
        LOAD_DATASETS,
        "",
        "## Tables",
        "",
    ]
    for name, (columns, rows) in tables.items():
        lines += _table_section(name, columns, rows)
    return "\n".join(lines).rstrip() + "\n"
