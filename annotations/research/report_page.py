"""The study report page's tables: the cached results dict turned into rows of formatted cells.

Formatting lives here rather than in the template, which then only loops over rows.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any


def number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def interval(ci: list[float] | None, digits: int = 3) -> str:
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else ""


def p_value(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def measure(record: dict[str, Any] | None, notes: list[str] | None = None) -> str:
    """A coefficient with its interval, or "n/a" and why it is not available.

    Given the table's ``notes``, the reason goes there once and the cell names it by number, so a
    table whose every cell lacks data for the same reason says so in one line, not in every cell.
    """
    if not record:
        return "-"
    if record.get("value") is None:
        reason = record.get("unavailable", "no data")
        if notes is None:
            return f"n/a: {reason}"
        if reason not in notes:
            notes.append(reason)
        return f"n/a ({notes.index(reason) + 1})"
    text = number(record["value"])
    return f"{text} {interval(record.get('ci95'))}".strip()


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    how: str = ""
    figure: str = ""  # the name of the figure drawn next to it, if any
    # Why cells read "n/a (n)": reason n is notes[n - 1], said once below the table.
    notes: list[str] = field(default_factory=list)
    # The figure as the page draws it, filled in by the page once the figures are read ("" when none has data).
    drawn: str = ""


# Per kind: the table's title, its alpha columns (header, key in the results) and the figure drawn beside it.
_AGREEMENT_TABLES = {
    "pairwise": ("Agreement on pairwise items", [("Krippendorff's alpha (nominal)", "alpha_nominal")], "agreement"),
    "likert": (
        "Agreement on Likert items",
        [("alpha (ordinal)", "alpha_ordinal"), ("alpha (interval)", "alpha_interval")],
        "",
    ),
}


def _agreement_tables(results: dict[str, Any]) -> list[Table]:
    tables = []
    agreement = results.get("agreement", {})
    for kind, (title, alphas, figure) in _AGREEMENT_TABLES.items():
        if kind not in agreement:
            continue
        section = agreement[kind]
        percent = "percent agreement" if kind == "pairwise" else "percent"
        header = ["subset", "items", "judgements", *(name for name, _ in alphas), "Fleiss' kappa", percent]
        table = Table(title, header, how=section["how"], figure=figure)
        for label, subset in _subsets(section):
            fleiss = subset["fleiss"]
            table.rows.append(
                [
                    label,
                    str(subset["n_items"]),
                    str(subset["n_judgements"]),
                    *(measure(subset[key], table.notes) for _, key in alphas),
                    f"{measure(fleiss)} ({fleiss['name']})"
                    if fleiss.get("value") is not None
                    else measure(fleiss, table.notes),
                    measure(subset["percent"], table.notes),
                ]
            )
        tables.append(table)
    return tables


def _subsets(section: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    rows = [("all items", section["overall"])]
    # Sorted here: a report read back from PostgreSQL's jsonb has its keys in another order.
    rows += [(f"sport: {name}", subset) for name, subset in sorted(section.get("by_sport", {}).items())]
    rows += [(f"pair: {name}", subset) for name, subset in sorted(section.get("by_pair", {}).items())]
    return rows


def _pairwise_tables(results: dict[str, Any]) -> list[Table]:
    board = results.get("leaderboard", {})
    if not board:
        return []
    leaderboard = Table(
        "Leaderboard",
        ["#", "method", "log-strength", "95% interval", "wins", "losses", "ties", "neither"],
        how=board.get("how", ""),
        figure="leaderboard",
    )
    if "unavailable" in board:
        leaderboard.how = f"Not available: {board['unavailable']}. {leaderboard.how}"
    elif board.get("estimator", "maximum likelihood") != "maximum likelihood":
        leaderboard.how = f"Estimated by {board['estimator']}. {leaderboard.how}"
    for position, row in enumerate(board.get("methods", []), 1):
        leaderboard.rows.append(
            [
                str(position),
                row["method"],
                number(row["log_strength"]),
                interval(row["ci95"]),
                str(row["wins"]),
                str(row["losses"]),
                str(row["ties"]),
                str(row["neither"]),
            ]
        )
    pairs = results.get("pairs", {})
    head_to_head = Table(
        "Head to head",
        [
            "method a",
            "method b",
            "a wins",
            "b wins",
            "ties",
            "neither",
            "identical, not shown",
            "a's win rate",
            "Wilson 95%",
            "sign test p",
            "Holm p",
        ],
        how=pairs.get("how", ""),
        figure="win_matrix" if results.get("win_matrix") else "",
    )
    for row in pairs.get("rows", []):
        head_to_head.rows.append(
            [
                row["method_a"],
                row["method_b"],
                str(row["wins"]),
                str(row["losses"]),
                str(row["ties"]),
                str(row["neither"]),
                str(row.get("identical_not_shown", 0)),
                number(row["win_rate"]),
                interval(row["win_rate_ci95"]),
                p_value(row["p_value"]),
                p_value(row["p_holm"]),
            ]
        )
    if results.get("win_matrix"):
        head_to_head.how += " " + results["win_matrix"]["how"]
    return [leaderboard, head_to_head]


def _likert_tables(results: dict[str, Any]) -> list[Table]:
    likert = results.get("likert", {})
    if not likert.get("methods"):
        return []
    summary = Table(
        "Likert scores per method",
        ["method", "scores", "queries", "mean", "95% interval", "median", "95% interval"],
        how=likert["how"],
        figure="likert_distribution",
    )
    for row in likert["methods"]:
        summary.rows.append(
            [
                row["method"],
                str(row["n_scores"]),
                str(row["n_queries"]),
                number(row["mean"], 2),
                interval(row["mean_ci95"], 2),
                number(row["median"], 1),
                interval(row["median_ci95"], 1),
            ]
        )
    points = likert["distribution"]["points"]
    distribution = Table("Score distribution (counts per point)", ["method", *map(str, points)])
    for name, counts in sorted(likert["distribution"]["counts"].items()):
        distribution.rows.append([name, *map(str, counts)])
    by_rank = Table("Mean score by rank", ["method", "rank", "scores", "mean"], how=likert["by_rank"]["how"])
    by_rank.figure = "score_by_rank"
    for row in likert["by_rank"]["rows"]:
        by_rank.rows.append([row["method"], str(row["rank"]), str(row["n_scores"]), number(row["mean"], 2)])
    wilcoxon = Table(
        "Paired Wilcoxon signed-rank tests",
        ["method a", "method b", "queries", "non-zero", "median a - b", "W", "p", "Holm p", "note"],
        how=likert["wilcoxon"]["how"],
    )
    for row in likert["wilcoxon"]["rows"]:
        wilcoxon.rows.append(
            [
                row["method_a"],
                row["method_b"],
                str(row["n_queries"]),
                str(row["n_nonzero"]),
                number(row["median_difference"], 2),
                number(row["statistic"], 1),
                p_value(row["p_value"]),
                p_value(row["p_holm"]),
                row.get("note", ""),
            ]
        )
    return [summary, distribution, by_rank, wilcoxon]


def _quality_table(results: dict[str, Any], usernames: dict[str, str]) -> list[Table]:
    quality = results.get("quality", {})
    table = Table(
        "Coach quality",
        [
            "coach",
            "account",
            "judgements",
            "flagged",
            "gold",
            "gold accuracy",
            "majority agreement",
            "median s / item",
            "too fast",
        ],
        how=quality.get("how", ""),
        figure="coach_quality",
    )
    for row in quality.get("coaches", []):
        table.rows.append(
            [
                row["coach"],
                usernames.get(row["coach"], "?"),
                str(row["n_judgements"]),
                str(row.get("n_flagged", 0)),
                str(row.get("n_gold") or 0),
                number(row.get("gold_accuracy"), 2),
                f"{number(row.get('majority_agreement'), 2)} of {row.get('n_with_majority') or 0}",
                number(row.get("median_seconds"), 1),
                str(row.get("n_too_fast") or 0),
            ]
        )
    return [table]


def report_tables(results: dict[str, Any], usernames: dict[str, str]) -> dict[str, list[Table]]:
    """The page's sections in order; ``usernames`` maps pseudonyms to accounts (the page is for staff)."""
    return {
        "Agreement": _agreement_tables(results),
        "Pairwise comparisons": _pairwise_tables(results),
        "Likert ratings": _likert_tables(results),
        "Coaches": _quality_table(results, usernames),
    }


# A start tag: matplotlib escapes "<" and ">" in attribute values and "<" in text, so a text saying
# style="..." is never inside one.
_START_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)
_DECLARATION = re.compile(r"^\s*([a-z-]+)\s*:\s*(.+?)\s*$")


def _presentation_attributes(declarations: str) -> str:
    attributes = []
    for declaration in declarations.split(";"):
        match = _DECLARATION.match(declaration)
        if match:
            attributes.append(f' {match.group(1)}="{html.escape(match.group(2), quote=True)}"')
    return "".join(attributes)


def figure_for_page(svg: str) -> str:
    """A matplotlib SVG that draws the same under the site's Content Security Policy, inline in the page.

    The policy forbids inline styles, and matplotlib styles every shape with a ``style=`` attribute
    and the document with one ``<style>`` rule; the properties it uses (fill, stroke, font-size,
    text-anchor, ...) all exist as SVG presentation attributes, which the policy allows. So each
    ``style="a: b; c: d"`` becomes ``a="b" c="d"``, and the ``<style>`` element's universal rule moves
    to the root ``<svg>``, whence its (inherited) properties reach every shape. Only start tags are
    rewritten, so a label that reads ``style="..."`` stays as it is.
    """
    root_rules = "".join(
        _presentation_attributes(body.strip().removeprefix("*{").removesuffix("}"))
        for body in _STYLE_ELEMENT.findall(svg)
        if body.strip().startswith("*{")
    )
    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _START_TAG.sub(
        lambda tag: _STYLE_ATTRIBUTE.sub(lambda match: _presentation_attributes(match.group(1)), tag.group(0)), svg
    )
    return svg.replace("<svg ", f"<svg{root_rules} ", 1) if root_rules else svg
