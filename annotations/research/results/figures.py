"""The report's figures, drawn with matplotlib from the results dict, as SVG or PDF bytes.

Figures are drawn on ``matplotlib.figure.Figure`` objects (never pyplot's global state), so web
processes and workers can draw concurrently. Output is deterministic: no creation dates in the
files and a fixed hash salt per figure, which also keeps the element ids of two SVGs inlined in
one page apart. Plain Python: no Django.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

FORMATS = {"svg": "image/svg+xml", "pdf": "application/pdf"}
_STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, styled by the page's fonts
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}


@dataclass(frozen=True)
class FigureSpec:
    name: str
    title: str
    available: Callable[[dict[str, Any]], bool]
    draw: Callable[[Figure, dict[str, Any]], None]


def _leaderboard_ready(results: dict[str, Any]) -> bool:
    return bool(results.get("leaderboard", {}).get("methods"))


def _draw_leaderboard(figure: Figure, results: dict[str, Any]) -> None:
    rows = results["leaderboard"]["methods"][::-1]  # strongest at the top
    axes = figure.add_subplot()
    y = np.arange(len(rows))
    values = np.array([row["log_strength"] for row in rows])
    low = np.array([row["ci95"][0] if row["ci95"] else row["log_strength"] for row in rows])
    high = np.array([row["ci95"][1] if row["ci95"] else row["log_strength"] for row in rows])
    axes.errorbar(values, y, xerr=[values - low, high - values], fmt="o", color="#1f4e79", capsize=3)
    axes.axvline(0.0, color="#999999", linewidth=0.8, linestyle="--")
    axes.set_yticks(y, [row["method"] for row in rows])
    axes.set_xlabel("Bradley-Terry log-strength (centred at 0), 95% bootstrap interval")
    figure.set_size_inches(6.0, 1.2 + 0.4 * len(rows))


def _win_matrix_ready(results: dict[str, Any]) -> bool:
    matrix = results.get("win_matrix")
    return bool(matrix and len(matrix["methods"]) >= 2)


def _draw_win_matrix(figure: Figure, results: dict[str, Any]) -> None:
    matrix = results["win_matrix"]
    names = matrix["methods"]
    rates = np.array([[np.nan if cell is None else cell for cell in row] for row in matrix["win_rate"]], dtype=float)
    axes = figure.add_subplot()
    image = axes.imshow(np.ma.masked_invalid(rates), cmap="RdBu", vmin=0.0, vmax=1.0)
    for i in range(len(names)):
        for j in range(len(names)):
            if i == j:
                continue
            n = matrix["n_decisive"][i][j]
            text = "-" if np.isnan(rates[i, j]) else f"{rates[i, j]:.2f}\nn={n}"
            axes.text(j, i, text, ha="center", va="center", fontsize=8)
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("against")
    axes.set_ylabel("method")
    figure.colorbar(image, ax=axes, label="win rate (wins / decisive judgements)")
    side = 2.0 + 0.9 * len(names)
    figure.set_size_inches(side + 1.5, side)


def _likert_ready(results: dict[str, Any]) -> bool:
    return bool(results.get("likert", {}).get("methods"))


def _draw_likert_distribution(figure: Figure, results: dict[str, Any]) -> None:
    distribution = results["likert"]["distribution"]
    points = distribution["points"]
    names = sorted(distribution["counts"])[::-1]
    counts = np.array([distribution["counts"][name] for name in names], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    colours = matplotlib.colormaps["RdYlGn"](np.linspace(0.1, 0.9, len(points)))
    axes = figure.add_subplot()
    left = np.zeros(len(names))
    labels = results.get("study", {}).get("scale_labels") or {}
    for index, point in enumerate(points):
        label = f"{point}" + (f" ({labels[str(point)]})" if str(point) in labels else "")
        axes.barh(names, shares[:, index], left=left, color=colours[index], label=label)
        left += shares[:, index]
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of scores")
    axes.legend(ncols=min(len(points), 4), loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    figure.set_size_inches(6.5, 1.8 + 0.4 * len(names))


def _by_rank_ready(results: dict[str, Any]) -> bool:
    return bool(results.get("likert", {}).get("by_rank", {}).get("rows"))


def _draw_score_by_rank(figure: Figure, results: dict[str, Any]) -> None:
    rows = results["likert"]["by_rank"]["rows"]
    axes = figure.add_subplot()
    for name in sorted({row["method"] for row in rows}):
        mine = sorted((row["rank"], row["mean"]) for row in rows if row["method"] == name)
        axes.plot([r for r, _ in mine], [m for _, m in mine], marker="o", label=name)
    scale = results.get("study", {}).get("scale") or []
    if scale:
        axes.set_ylim(scale[0] - 0.2, scale[-1] + 0.2)
    axes.set_xlabel("rank returned by the method")
    axes.set_ylabel("mean score")
    axes.legend(frameon=False)
    figure.set_size_inches(6.0, 3.5)


def _agreement_rows(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for kind, key in (("pairwise", "alpha_nominal"), ("likert", "alpha_ordinal")):
        section = results.get("agreement", {}).get(kind)
        if not section:
            continue
        rows.append((f"{kind}: all", section["overall"][key]))
        for group in ("by_sport", "by_pair"):
            for label, subset in sorted(section.get(group, {}).items()):  # jsonb reorders keys
                rows.append((f"{kind}: {label}", subset[key]))
    return [(label, measure) for label, measure in rows if measure.get("value") is not None]


def _draw_agreement(figure: Figure, results: dict[str, Any]) -> None:
    rows = _agreement_rows(results)[::-1]
    axes = figure.add_subplot()
    y = np.arange(len(rows))
    values = np.array([measure["value"] for _, measure in rows])
    low = np.array([measure["ci95"][0] if measure.get("ci95") else measure["value"] for _, measure in rows])
    high = np.array([measure["ci95"][1] if measure.get("ci95") else measure["value"] for _, measure in rows])
    axes.errorbar(values, y, xerr=[values - low, high - values], fmt="s", color="#5b2c6f", capsize=3)
    axes.axvline(0.0, color="#999999", linewidth=0.8, linestyle="--")
    axes.set_yticks(y, [label for label, _ in rows])
    axes.set_xlim(min(-0.1, float(low.min()) - 0.05), 1.0)
    axes.set_xlabel("Krippendorff's alpha (pairwise: nominal, Likert: ordinal), 95% bootstrap interval")
    figure.set_size_inches(6.5, 1.2 + 0.35 * len(rows))


def _quality_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Coaches with both a time and an agreement: a coach lacking either has no point to draw."""
    return [
        row
        for row in results.get("quality", {}).get("coaches", [])
        if row.get("median_seconds") is not None and row.get("majority_agreement") is not None
    ]


def _quality_ready(results: dict[str, Any]) -> bool:
    # Without one drawable coach the figure would be bare axes; the page says "not enough data yet" instead.
    return bool(_quality_rows(results))


def _draw_quality(figure: Figure, results: dict[str, Any]) -> None:
    rows = _quality_rows(results)
    axes = figure.add_subplot()
    x = [row["median_seconds"] for row in rows]
    y = [row["majority_agreement"] for row in rows]
    sizes = [12 + 4 * np.sqrt(row["n_judgements"]) for row in rows]
    colours = ["#c0392b" if row["n_too_fast"] else "#1f4e79" for row in rows]
    axes.scatter(x, y, s=sizes, c=colours, alpha=0.8)
    # Logarithmic above a second, linear below: a coach whose median is 0 s (answers within the second) is drawn too.
    axes.set_xscale("symlog", linthresh=1.0)
    axes.set_ylim(-0.05, 1.05)
    axes.set_xlabel("median seconds per item (log scale above 1 s); red: some judgements faster than the clips")
    axes.set_ylabel("agreement with the others' majority")
    figure.set_size_inches(6.0, 3.5)


FIGURES: dict[str, FigureSpec] = {
    spec.name: spec
    for spec in (
        FigureSpec("agreement", "Agreement between coaches", lambda r: bool(_agreement_rows(r)), _draw_agreement),
        FigureSpec("leaderboard", "Leaderboard (Bradley-Terry)", _leaderboard_ready, _draw_leaderboard),
        FigureSpec("win_matrix", "Win rates, method against method", _win_matrix_ready, _draw_win_matrix),
        FigureSpec("likert_distribution", "Likert scores per method", _likert_ready, _draw_likert_distribution),
        FigureSpec("score_by_rank", "Mean Likert score by rank", _by_rank_ready, _draw_score_by_rank),
        FigureSpec("coach_quality", "Coaches: time and agreement", _quality_ready, _draw_quality),
    )
}


def available_figures(results: dict[str, Any]) -> list[str]:
    return [name for name, spec in FIGURES.items() if spec.available(results)]


def render_figure(results: dict[str, Any], name: str, fmt: str) -> bytes:
    """One figure as SVG or PDF bytes; KeyError for an unknown name or format, ValueError if it has no data."""
    spec = FIGURES[name]
    if fmt not in FORMATS:
        raise KeyError(fmt)
    if not spec.available(results):
        raise ValueError(f"the figure {name!r} has no data yet")
    with rc_context({**_STYLE, "svg.hashsalt": f"coachbench-{name}"}):
        figure = Figure(layout="constrained")
        spec.draw(figure, results)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, metadata=_METADATA[fmt])
    return buffer.getvalue()


def inline_svg(svg: bytes) -> str:
    """SVG markup for embedding in HTML: without the XML prolog and doctype."""
    text = svg.decode()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text
