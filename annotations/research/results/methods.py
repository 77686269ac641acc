"""Method comparisons of a study: the Bradley-Terry leaderboard, head-to-head win rates, Likert scores.

Inputs are already mapped to methods (the caller turned stored winners a/b into the names of the
methods credited to each clip), so nothing here knows about screen sides. Plain numpy: no Django.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np

from annotations.research.stats import (
    StatisticError,
    bradley_terry,
    compare_pairs,
    likert_summary,
    paired_wilcoxon,
    score_by_rank,
)
from annotations.research.stats.bradley_terry import TIE_RULE

HOW_LEADERBOARD = (
    "Bradley-Terry strengths by maximum likelihood from the pairwise judgements, after mapping the screen side "
    "each coach chose back to the method behind that clip; " + TIE_RULE + ". Where the maximum does not exist "
    "(a method that never won nor tied), or too many bootstrap resamples lack it, every fit is penalised with "
    "half a pseudo-win each way per compared pair, and `estimator` says so and why. Log-strengths are centred at 0 "
    "(higher is better; a difference of 1 means odds of e to 1). Intervals: percentile bootstrap resampling "
    "queries (each query brings all its comparisons). Flagged judgements and gold items are left out; "
    "comparisons where both methods returned the same clip were not shown to coaches and are counted apart."
)
HOW_PAIRS = (
    "Per pair of methods: wins, losses, ties and 'neither helps'. Win rate = wins / (wins + losses) with a "
    "Wilson 95% interval; two-sided sign test of wins against losses at 1/2 (ties and 'neither' left out), "
    "p-values Holm-corrected across all pairs."
)
HOW_MATRIX = (
    "Cell (row, column): the share of decisive judgements (wins + losses) in which the row's method was judged "
    "more helpful than the column's, with its Wilson 95% interval and the number of decisive judgements."
)
HOW_LIKERT_SCORES = (
    "Every Likert score counts for each method that returned the clip (a clip returned by two methods is "
    "rated once and credited to both). Mean and median per method with percentile bootstrap 95% intervals "
    "resampling queries; distributions count scores per scale point."
)
HOW_BY_RANK = "Mean score of the clips each method returned at each rank (1 = its top result)."
HOW_WILCOXON = (
    "Paired Wilcoxon signed-rank test between two methods over the queries scored under both: each query's "
    "mean score per method, zero differences dropped, two-sided, p-values Holm-corrected across pairs."
)


def _records(rows: list) -> list[dict[str, Any]]:
    return [_jsonable(dataclasses.asdict(row)) for row in rows]


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in record.items()}


def leaderboard(
    a: np.ndarray,
    b: np.ndarray,
    winners: np.ndarray,
    queries: np.ndarray,
    *,
    identical: list[tuple[str, str]],
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Leaderboard, pair table and win-rate matrix from comparisons ``a[i]`` vs ``b[i]``."""
    identical_by_pair = Counter(tuple(sorted(pair)) for pair in identical)
    result: dict[str, Any] = {"how": HOW_LEADERBOARD, "n_comparisons": int(a.size)}
    if a.size == 0:
        result["unavailable"] = "no pairwise judgements yet"
        return {"leaderboard": result, "pairs": {"how": HOW_PAIRS, "rows": []}, "win_matrix": None}
    try:
        board = bradley_terry(a, b, winners, queries=queries, bootstrap=bootstrap, seed=seed)
    except StatisticError as error:
        result["unavailable"] = str(error)
    else:
        result.update(
            methods=_records(board.methods),
            ties=board.ties,
            resampled=board.resampled,
            n_resamples=board.n_resamples,
            n_resamples_dropped=board.n_resamples_dropped,
            estimator=board.estimator,
        )
    pairs = _records(compare_pairs(a, b, winners))
    for row in pairs:
        row["identical_not_shown"] = identical_by_pair.get((row["method_a"], row["method_b"]), 0)
    order = [row["method"] for row in result.get("methods", [])] or sorted(set(a.tolist()) | set(b.tolist()))
    return {
        "leaderboard": result,
        "pairs": {"how": HOW_PAIRS, "rows": pairs},
        "win_matrix": _win_matrix(pairs, order),
    }


def _win_matrix(pairs: list[dict[str, Any]], order: list[str]) -> dict[str, Any]:
    size = len(order)
    position = {name: index for index, name in enumerate(order)}
    rate: list[list[float | None]] = [[None] * size for _ in range(size)]
    interval: list[list[list[float] | None]] = [[None] * size for _ in range(size)]
    decisive = [[0] * size for _ in range(size)]
    for row in pairs:
        first, second = position[row["method_a"]], position[row["method_b"]]
        n = row["wins"] + row["losses"]
        decisive[first][second] = decisive[second][first] = n
        if not n:
            continue
        low, high = row["win_rate_ci95"]
        rate[first][second], interval[first][second] = row["win_rate"], [low, high]
        rate[second][first], interval[second][first] = 1.0 - row["win_rate"], [1.0 - high, 1.0 - low]
    return {"how": HOW_MATRIX, "methods": order, "win_rate": rate, "ci95": interval, "n_decisive": decisive}


def likert_results(
    methods: np.ndarray,
    queries: np.ndarray,
    ranks: np.ndarray,
    scores: np.ndarray,
    *,
    scale: list[int],
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Per-method Likert summaries, distributions over the scale, score by rank and paired tests."""
    if scores.size == 0:
        return {"how": HOW_LIKERT_SCORES, "unavailable": "no Likert judgements yet"}
    names = sorted(set(methods.tolist()))
    points = np.asarray(scale)
    distribution = {}
    for name in names:
        mine = scores[methods == name].astype(np.int64)
        distribution[name] = np.bincount(mine - points[0], minlength=points.size).tolist()
    return {
        "how": HOW_LIKERT_SCORES,
        "methods": _records(likert_summary(methods, queries, scores, bootstrap=bootstrap, seed=seed)),
        "distribution": {"points": scale, "counts": distribution},
        "by_rank": {"how": HOW_BY_RANK, "rows": _records(score_by_rank(methods, ranks, scores))},
        "wilcoxon": {"how": HOW_WILCOXON, "rows": _records(paired_wilcoxon(methods, queries, scores))},
    }
