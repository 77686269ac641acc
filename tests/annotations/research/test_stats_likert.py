"""Likert summaries per method: mean, median, intervals by query, score by rank, paired Wilcoxon tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wilcoxon

from annotations.research.stats import StatisticError, likert_summary, paired_wilcoxon, score_by_rank


def _study(seed: int = 0, n: int = 1200):
    rng = np.random.default_rng(seed)
    methods = np.array(["bm25", "ours", "random"])[rng.integers(0, 3, n)]
    queries = rng.integers(0, 60, n)
    lift = np.select([methods == "ours", methods == "random"], [0.8, -0.8], 0.0)
    scores = np.clip(np.round(3 + lift + rng.normal(0, 1, n)), 1, 5)
    return methods, queries, scores


def test_mean_and_median_per_method_are_those_of_the_scores():
    methods, queries, scores = _study()
    for row in likert_summary(methods, queries, scores, bootstrap=0):
        mine = scores[methods == row.method]
        assert row.mean == pytest.approx(mine.mean())
        assert row.median == pytest.approx(np.median(mine))
        assert row.n_scores == mine.size


def test_the_median_of_an_even_number_of_scores_is_the_middle_pair_mean():
    (row,) = likert_summary(["m"] * 4, [1, 1, 2, 2], [1, 2, 4, 5], bootstrap=0)
    assert row.median == 3.0


def test_intervals_resample_queries_and_bracket_the_estimates():
    methods, queries, scores = _study(1)
    rows = likert_summary(methods, queries, scores, bootstrap=400, seed=3)
    for row in rows:
        assert row.mean_ci95[0] < row.mean < row.mean_ci95[1]
        assert row.median_ci95[0] <= row.median <= row.median_ci95[1]
    assert rows == likert_summary(methods, queries, scores, bootstrap=400, seed=3)


def test_score_by_rank_averages_each_method_at_each_rank():
    rows = score_by_rank(["a", "a", "a", "b"], [1, 1, 2, 1], [5, 3, 2, 4])
    assert [(row.method, row.rank, row.n_scores, row.mean) for row in rows] == [
        ("a", 1, 2, 4.0),
        ("a", 2, 1, 2.0),
        ("b", 1, 1, 4.0),
    ]


def test_paired_wilcoxon_pairs_per_query_means_and_is_holm_corrected():
    methods, queries, scores = _study(2)
    tests = {(t.method_a, t.method_b): t for t in paired_wilcoxon(methods, queries, scores)}
    means = {
        method: np.array([scores[(methods == method) & (queries == q)].mean() for q in range(60)])
        for method in ("bm25", "ours")
    }
    expected = wilcoxon(means["bm25"], means["ours"], zero_method="wilcox")
    assert tests[("bm25", "ours")].p_value == pytest.approx(expected.pvalue)
    assert tests[("bm25", "ours")].p_holm >= tests[("bm25", "ours")].p_value
    assert tests[("ours", "random")].p_holm < 0.001


def test_a_pair_without_any_difference_gets_a_note_not_a_nan():
    (test,) = paired_wilcoxon(["a", "b", "a", "b"], [1, 1, 2, 2], [3, 3, 4, 4])
    assert test.p_value is None
    assert test.note == "every paired difference is 0"


def test_non_numeric_scores_are_refused():
    with pytest.raises(StatisticError, match="must be numbers"):
        likert_summary(["a"], [1], ["good"])
