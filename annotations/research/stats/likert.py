"""Likert scores per retrieval method: mean and median with bootstrap intervals, score by rank,
and paired Wilcoxon signed-rank tests between methods over queries.

The query is the unit of resampling: a coach study samples queries, and the scores of one query's
clips are not independent (an easy query lifts every method). Intervals resample queries with
replacement, the same draw for every method, and take the 2.5th and 97.5th percentiles.
The Wilcoxon test pairs each query's mean score under two methods, drops zero differences
(Wilcoxon's original treatment, scipy's ``zero_method="wilcox"``), is two-sided, and its p-values
are Holm-corrected across method pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import wilcoxon

from annotations.research.stats.coding import encode, encode_text
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.multiple_testing import holm
from annotations.research.stats.resampling import percentile_interval, resample_weights, weight_blocks


@dataclass(frozen=True)
class MethodScores:
    """One method's Likert scores."""

    method: str
    n_scores: int
    n_queries: int
    mean: float
    mean_ci95: tuple[float, float] | None
    median: float
    median_ci95: tuple[float, float] | None


@dataclass(frozen=True)
class RankScores:
    """Mean score of a method's clips at one retrieval rank."""

    method: str
    rank: int
    n_scores: int
    mean: float


@dataclass(frozen=True)
class PairedTest:
    """Wilcoxon signed-rank test of two methods' per-query mean scores."""

    method_a: str
    method_b: str
    n_queries: int  # queries scored under both methods
    n_nonzero: int  # of which the mean scores differ
    median_difference: float | None  # median over queries of (a - b)
    statistic: float | None
    p_value: float | None
    p_holm: float | None
    note: str = ""


def _scores(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise StatisticError("Likert scores must be numbers") from None
    if values.size == 0:
        raise StatisticError("there are no scores")
    if not np.isfinite(values).all():
        raise StatisticError("Likert scores must be finite numbers (drop missing scores before summarising)")
    return values


def likert_summary(
    methods: Sequence[str],
    queries: Sequence[object],
    scores: Sequence[float] | np.ndarray,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> list[MethodScores]:
    """Mean and median score per method with intervals from resampling queries."""
    values = _scores(scores)
    method_codes, method_names = encode_text(methods)
    query_codes, query_names = encode_text(queries)
    level_codes, levels = encode(values)
    n_methods, n_levels = method_names.size, levels.size
    # counts[q, method * levels + level]: scores of that level given to the method's clips for query q.
    counts = np.zeros((query_names.size, n_methods * n_levels))
    np.add.at(counts, (query_codes, method_codes * n_levels + level_codes), 1.0)
    point_mean, point_median = _mean_median(counts.sum(axis=0)[None], n_methods, levels)
    mean_ci: list[tuple[float, float] | None] = [None] * n_methods
    median_ci: list[tuple[float, float] | None] = [None] * n_methods
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        frequency = np.ones(query_names.size, dtype=np.int64)
        parts = [
            _mean_median(resample_weights(rng, frequency, block.stop - block.start) @ counts, n_methods, levels)
            for block in weight_blocks(query_names.size, bootstrap)
        ]
        means = np.concatenate([part[0] for part in parts])
        medians = np.concatenate([part[1] for part in parts])
        mean_ci = [percentile_interval(means[:, index]) for index in range(n_methods)]
        median_ci = [percentile_interval(medians[:, index]) for index in range(n_methods)]
    per_method = counts.reshape(query_names.size, n_methods, n_levels).sum(axis=2)
    return [
        MethodScores(
            method=str(name),
            n_scores=int(per_method[:, index].sum()),
            n_queries=int((per_method[:, index] > 0).sum()),
            mean=float(point_mean[0, index]),
            mean_ci95=mean_ci[index],
            median=float(point_median[0, index]),
            median_ci95=median_ci[index],
        )
        for index, name in enumerate(method_names.tolist())
    ]


def _mean_median(counts: np.ndarray, n_methods: int, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and median per method for each row of (resamples, methods * levels) integer counts."""
    counts = counts.reshape(counts.shape[0], n_methods, levels.size)
    totals = counts.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = (counts @ levels) / totals
    cumulative = np.cumsum(counts, axis=2)
    # The median of N sorted scores is the mean of the floor((N+1)/2)-th and the (floor(N/2)+1)-th.
    lower = np.floor((totals + 1) / 2)
    upper = np.floor(totals / 2) + 1
    top = levels.size - 1
    lower_value = levels[np.minimum((cumulative < lower[:, :, None]).sum(axis=2), top)]
    upper_value = levels[np.minimum((cumulative < upper[:, :, None]).sum(axis=2), top)]
    medians = np.where(totals > 0, (lower_value + upper_value) / 2.0, np.nan)
    return means, medians


def score_by_rank(
    methods: Sequence[str], ranks: Sequence[int], scores: Sequence[float] | np.ndarray
) -> list[RankScores]:
    """Mean score per method and retrieval rank, to see whether coaches agree with the ranking."""
    values = _scores(scores)
    rank_array = np.asarray(ranks, dtype=np.int64)
    method_codes, method_names = encode_text(methods)
    keys = method_codes * (int(rank_array.max()) + 1) + rank_array
    distinct, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=values)
    counts = np.bincount(inverse)
    width = int(rank_array.max()) + 1
    return [
        RankScores(method=str(method_names[key // width]), rank=int(key % width), n_scores=int(n), mean=float(s / n))
        for key, s, n in zip(distinct.tolist(), sums, counts, strict=True)
    ]


def paired_wilcoxon(
    methods: Sequence[str], queries: Sequence[object], scores: Sequence[float] | np.ndarray
) -> list[PairedTest]:
    """Two-sided Wilcoxon signed-rank test for every pair of methods over the queries both were scored on."""
    values = _scores(scores)
    method_codes, method_names = encode_text(methods)
    query_codes, query_names = encode_text(queries)
    shape = (query_names.size, method_names.size)
    sums = np.zeros(shape)
    counts = np.zeros(shape)
    np.add.at(sums, (query_codes, method_codes), values)
    np.add.at(counts, (query_codes, method_codes), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        query_means = sums / counts
    tests = []
    for first, second in combinations(range(method_names.size), 2):
        both = (counts[:, first] > 0) & (counts[:, second] > 0)
        differences = query_means[both, first] - query_means[both, second]
        nonzero = int(np.count_nonzero(differences))
        base = {
            "method_a": str(method_names[first]),
            "method_b": str(method_names[second]),
            "n_queries": int(both.sum()),
            "n_nonzero": nonzero,
            "median_difference": float(np.median(differences)) if differences.size else None,
        }
        if nonzero == 0:
            note = "no query scored under both methods" if differences.size == 0 else "every paired difference is 0"
            tests.append(PairedTest(**base, statistic=None, p_value=None, p_holm=None, note=note))
            continue
        test = wilcoxon(differences, zero_method="wilcox", alternative="two-sided")
        tests.append(PairedTest(**base, statistic=float(test.statistic), p_value=float(test.pvalue), p_holm=None))
    tested = [index for index, test in enumerate(tests) if test.p_value is not None]
    adjusted = holm([tests[index].p_value for index in tested])
    for index, p in zip(tested, adjusted.tolist(), strict=True):
        tests[index] = PairedTest(**{**tests[index].__dict__, "p_holm": p})
    return tests
