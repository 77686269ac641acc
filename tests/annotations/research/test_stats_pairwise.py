"""Head-to-head counts, sign tests with Holm's correction, and Bradley-Terry strengths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from annotations.research.stats import StatisticError, bradley_terry, compare_pairs, holm, winners_from_sides


def test_screen_sides_are_mapped_back_to_methods():
    winners = winners_from_sides(
        ["left", "right", "tie", "neither"], ["bm25", "bm25", "a", "a"], ["ours", "ours", "b", "b"]
    )
    assert winners == ["bm25", "ours", "tie", "neither"]


def test_an_unknown_side_is_refused():
    with pytest.raises(StatisticError, match="unknown choice 'up'"):
        winners_from_sides(["up"], ["a"], ["b"])


def test_pair_counts_do_not_depend_on_which_side_a_method_was_listed():
    a = ["ours", "bm25", "ours", "bm25", "ours", "bm25"]
    b = ["bm25", "ours", "bm25", "ours", "bm25", "ours"]
    winner = ["ours", "ours", "bm25", "tie", "neither", "ours"]
    (pair,) = compare_pairs(a, b, winner)
    assert (pair.method_a, pair.method_b) == ("bm25", "ours")
    assert (pair.wins, pair.losses, pair.ties, pair.neither) == (1, 3, 1, 1)
    assert pair.win_rate == pytest.approx(0.25)


def test_win_rate_interval_is_wilsons_and_the_sign_test_is_two_sided():
    a, b = ["x"] * 20, ["y"] * 20
    winner = ["x"] * 15 + ["y"] * 5
    (pair,) = compare_pairs(a, b, winner)
    # Wilson interval by hand: centre (p + z^2/2n) / (1 + z^2/n), half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n).
    z, n, p = 1.959963984540054, 20, 0.75
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert pair.win_rate_ci95 == pytest.approx((centre - half, centre + half))
    # Two-sided exact binomial: 2 * P(X >= 15 | n = 20, 1/2).
    from math import comb

    assert pair.p_value == pytest.approx(2 * sum(comb(20, k) for k in range(15, 21)) / 2**20)


def test_holm_matches_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.005, 0.04])
    assert holm(p) == pytest.approx(multitest.multipletests(p, method="holm")[1])


def test_holm_by_hand():
    # Sorted 0.01, 0.02, 0.03 times 3, 2, 1 -> 0.03, 0.04, 0.04 (made monotone), back in input order.
    assert holm([0.03, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])


def test_pairs_are_holm_corrected_together():
    a = ["x"] * 30 + ["x"] * 30 + ["y"] * 30
    b = ["y"] * 30 + ["z"] * 30 + ["z"] * 30
    winner = ["x"] * 22 + ["y"] * 8 + ["x"] * 17 + ["z"] * 13 + ["y"] * 20 + ["z"] * 10
    pairs = compare_pairs(a, b, winner)
    assert [pair.p_holm for pair in pairs] == pytest.approx(holm([pair.p_value for pair in pairs]))


def test_a_pair_with_only_ties_has_no_win_rate():
    (pair,) = compare_pairs(["x", "x"], ["y", "y"], ["tie", "neither"])
    assert pair.win_rate is None
    assert pair.p_value is None
    assert pair.p_holm is None


def test_a_winner_that_is_neither_side_is_refused():
    with pytest.raises(StatisticError, match="winner 'z' is neither"):
        compare_pairs(["x"], ["y"], ["z"])


def _simulate(strengths: np.ndarray, n: int, seed: int, tie_rate: float = 0.0):
    rng = np.random.default_rng(seed)
    names = np.array([f"method{i}" for i in range(strengths.size)])
    first = rng.integers(0, strengths.size, n)
    second = (first + rng.integers(1, strengths.size, n)) % strengths.size
    p_first = 1.0 / (1.0 + np.exp(strengths[second] - strengths[first]))
    winner = np.where(rng.random(n) < p_first, names[first], names[second]).astype(object)
    winner[rng.random(n) < tie_rate] = "tie"
    queries = rng.integers(0, 400, n)
    return names[first].tolist(), names[second].tolist(), winner.tolist(), queries, names


def test_bradley_terry_recovers_known_strengths():
    truth = np.array([0.9, 0.4, 0.0, -0.3, -1.0])
    a, b, winner, queries, names = _simulate(truth, 40_000, seed=1)
    board = bradley_terry(a, b, winner, queries=queries, bootstrap=200, seed=0)
    fitted = {row.method: row.log_strength for row in board.methods}
    centred = truth - truth.mean()
    for name, expected in zip(names, centred, strict=True):
        assert fitted[name] == pytest.approx(expected, abs=0.05)
    assert [row.method for row in board.methods] == names.tolist()
    assert sum(row.log_strength for row in board.methods) == pytest.approx(0.0, abs=1e-9)
    covered = sum(row.ci95[0] <= centred[names.tolist().index(row.method)] <= row.ci95[1] for row in board.methods)
    assert covered >= 4
    assert board.resampled == "queries"


def test_bradley_terry_is_the_maximum_likelihood_with_ties_as_half_wins():
    a, b, winner, _, names = _simulate(np.array([0.5, 0.0, -0.5]), 600, seed=2, tie_rate=0.2)
    board = bradley_terry(a, b, winner)
    index = {name: i for i, name in enumerate(names)}
    wins = np.zeros((3, 3))
    for first, second, won in zip(a, b, winner, strict=True):
        if won == "tie":
            wins[index[first], index[second]] += 0.5
            wins[index[second], index[first]] += 0.5
        else:
            loser = second if won == first else first
            wins[index[won], index[loser]] += 1

    def negative_log_likelihood(theta):
        difference = theta[:, None] - theta[None, :]
        return (wins * np.log1p(np.exp(-difference))).sum()

    best = minimize(negative_log_likelihood, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    best -= best.mean()
    fitted = {row.method: row.log_strength for row in board.methods}
    assert [fitted[name] for name in names] == pytest.approx(best, abs=1e-5)
    assert "half" in board.ties


def test_bradley_terry_counts_wins_losses_and_ties_per_method():
    board = bradley_terry(["x", "x", "y", "x"], ["y", "y", "x", "y"], ["x", "tie", "x", "y"])
    rows = {row.method: row for row in board.methods}
    assert (rows["x"].wins, rows["x"].losses, rows["x"].ties) == (2, 1, 1)
    assert (rows["y"].wins, rows["y"].losses, rows["y"].ties) == (1, 2, 1)


def test_a_method_that_never_won_nor_tied_gets_the_penalised_fit_and_the_reason():
    board = bradley_terry(["x", "x", "y"] * 2, ["y", "z", "z"] * 2, ["x", "x", "y"] * 2, bootstrap=200, seed=1)
    assert [row.method for row in board.methods] == ["x", "y", "z"]
    assert board.estimator.startswith("penalised maximum likelihood: 0.5 pseudo-win each way")
    assert "y, z never beat nor tied x" in board.estimator
    assert all(np.isfinite(row.log_strength) for row in board.methods)
    # With the prior every resample has a fit: none is dropped, so the intervals are not biased by the lucky ones.
    assert (board.n_resamples, board.n_resamples_dropped) == (200, 0)
    strengths = {row.method: row.log_strength for row in board.methods}
    x, y, z = (strengths[name] for name in "xyz")
    # The penalised fit is the maximum of the likelihood of the data plus the pseudo-wins.
    wins = np.array([[0, 2, 2], [0, 0, 2], [0, 0, 0]], dtype=float) + 0.5 * (1 - np.eye(3))
    theta = np.array([x, y, z])
    p = 1 / (1 + np.exp(theta[None, :] - theta[:, None]))
    gradient = wins.sum(axis=1) - ((wins + wins.T) * p).sum(axis=1)
    assert gradient == pytest.approx(np.zeros(3), abs=1e-8)


def test_bradley_terry_keeps_maximum_likelihood_when_it_exists_and_few_resamples_fail():
    a, b, winner, queries, _ = _simulate(np.array([0.5, 0.0, -0.5]), 600, seed=2)
    board = bradley_terry(a, b, winner, queries=queries, bootstrap=100, seed=0)
    assert board.estimator == "maximum likelihood"
    assert board.n_resamples_dropped == 0


def test_methods_never_compared_with_each_other_are_refused():
    with pytest.raises(StatisticError, match="were never compared with"):
        bradley_terry(["x", "z"], ["y", "w"], ["x", "w"])


def test_bradley_terry_results_do_not_depend_on_row_order():
    a, b, winner, queries, _ = _simulate(np.array([0.3, 0.0, -0.2, 0.1]), 2000, seed=5)
    order = np.random.default_rng(0).permutation(len(a))
    shuffled = bradley_terry(
        [a[i] for i in order], [b[i] for i in order], [winner[i] for i in order], queries=queries[order]
    )
    plain = bradley_terry(a, b, winner, queries=queries)
    assert [(row.method, round(row.log_strength, 9)) for row in shuffled.methods] == [
        (row.method, round(row.log_strength, 9)) for row in plain.methods
    ]
