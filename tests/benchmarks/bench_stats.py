"""Agreement and leaderboard statistics at study scale.

Ordinal Krippendorff's alpha on 1,000,000 ratings (200,000 units x 5 ratings from 1,000 raters on a
5-point scale), from (unit, value) pairs, next to the ``krippendorff`` package on the same data in
the same run: its usual call on the dense raters x units matrix, and its call on precomputed value
counts. Then 1,000 bootstrap resamples of units, and a Bradley-Terry fit with 1,000 bootstrap
resamples of queries for 5 methods. Goals from the issue: alpha under 0.5 s and at least 2x faster
than the dense call; the bootstrap under 10 s.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from annotations.research.stats import bradley_terry, krippendorff_alpha

UNITS, RATINGS_PER_UNIT, RATERS, SCALE = 200_000, 5, 1_000, 5


def _ratings(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coaches who mostly agree: each unit has a true score, each rating is off by at most one step."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, SCALE + 1, UNITS)
    units = np.repeat(np.arange(UNITS), RATINGS_PER_UNIT)
    # Five different raters per unit out of 1,000 (offsets by a step coprime to 1,000).
    raters = ((rng.integers(0, RATERS, UNITS)[:, None] + np.arange(RATINGS_PER_UNIT) * 137) % RATERS).ravel()
    values = np.clip(np.repeat(truth, RATINGS_PER_UNIT) + rng.integers(-1, 2, units.size), 1, SCALE).astype(float)
    return units, raters, values


def _best_of(repeats: int, call: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def _peak_mb(call: Callable[[], Any]) -> float:
    """Peak memory the call allocates through Python and numpy (tracemalloc), in MB."""
    gc.collect()
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def _alpha_figures(units: np.ndarray, raters: np.ndarray, values: np.ndarray) -> None:
    ours_s, ours = _best_of(5, lambda: krippendorff_alpha(units, values, "ordinal"))
    ours_mb = _peak_mb(lambda: krippendorff_alpha(units, values, "ordinal"))
    print(
        f"coachbench  ordinal alpha {ours.value:.6f}: {ours_s:.3f} s, peak {ours_mb:.0f} MB (from (unit, value) pairs)"
    )
    try:
        import krippendorff
    except ImportError:
        print("krippendorff package not installed (pip install -e '.[dev]'): no comparison")
        return
    counts = np.zeros((UNITS, SCALE))
    np.add.at(counts, (units, values.astype(int) - 1), 1)
    counts_s, by_counts = _best_of(
        3,
        lambda: krippendorff.alpha(
            value_counts=counts, value_domain=np.arange(1, SCALE + 1), level_of_measurement="ordinal"
        ),
    )
    print(f"krippendorff.alpha(value_counts=...)     {by_counts:.6f}: {counts_s:.3f} s (counts built beforehand)")
    dense = np.full((RATERS, UNITS), np.nan)
    dense[raters, units] = values
    dense_s, by_dense = _best_of(2, lambda: krippendorff.alpha(reliability_data=dense, level_of_measurement="ordinal"))
    dense_mb = _peak_mb(lambda: krippendorff.alpha(reliability_data=dense, level_of_measurement="ordinal"))
    print(
        f"krippendorff.alpha(reliability_data=...) {by_dense:.6f}: {dense_s:.3f} s, peak {dense_mb:.0f} MB "
        f"(plus the {dense.nbytes / 1e6:.0f} MB raters x units matrix it needs as input)"
    )
    print(
        f"speed-up over the dense call: {dense_s / ours_s:.1f}x; over the value-counts call: {counts_s / ours_s:.1f}x"
    )


def _bootstrap_figures(units: np.ndarray, values: np.ndarray) -> None:
    started = time.perf_counter()
    result = krippendorff_alpha(units, values, "ordinal", bootstrap=1000, seed=0)
    seconds = time.perf_counter() - started
    mb = _peak_mb(lambda: krippendorff_alpha(units, values, "ordinal", bootstrap=1000, seed=0))
    print(
        f"ordinal alpha + 1,000 bootstrap resamples of units: {seconds:.3f} s, peak {mb:.0f} MB, "
        f"95% interval {result.ci95[0]:.4f} to {result.ci95[1]:.4f}"
    )
    # Without identical units to merge (values on a continuous scale), every unit is its own group.
    jitter = values + np.random.default_rng(1).random(values.size) * 0.01
    started = time.perf_counter()
    krippendorff_alpha(units, jitter, "interval", bootstrap=1000, seed=0)
    print(
        f"interval alpha + 1,000 resamples, 1,000,000 distinct values (no units merged): "
        f"{time.perf_counter() - started:.3f} s"
    )


def _bradley_terry_figures() -> None:
    rng = np.random.default_rng(2)
    names = np.array(["bm25", "clip", "xclip", "ours", "random"])
    strengths = np.array([0.0, 0.4, 0.6, 1.0, -1.0])
    n, queries = 100_000, 2_000
    first = rng.integers(0, 5, n)
    second = (first + rng.integers(1, 5, n)) % 5
    p_first = 1 / (1 + np.exp(strengths[second] - strengths[first]))
    winner = np.where(rng.random(n) < p_first, names[first], names[second]).astype(object)
    winner[rng.random(n) < 0.1] = "tie"
    a, b, won, query = names[first].tolist(), names[second].tolist(), winner.tolist(), rng.integers(0, queries, n)
    fit_s, _ = _best_of(3, lambda: bradley_terry(a, b, won, queries=query))
    boot_s, board = _best_of(1, lambda: bradley_terry(a, b, won, queries=query, bootstrap=1000, seed=0))
    print(
        f"Bradley-Terry, 5 methods, {n:,} comparisons over {queries:,} queries: fit {fit_s:.3f} s, "
        f"fit + 1,000 bootstrap resamples of queries {boot_s:.3f} s ({board.n_resamples_dropped} dropped)"
    )


def main() -> None:
    units, raters, values = _ratings()
    print(
        f"{values.size:,} ratings: {UNITS:,} units x {RATINGS_PER_UNIT} ratings, {RATERS:,} raters, {SCALE}-point scale"
    )
    print("(timings are best of several runs; noisy while other work shares the machine)")
    _alpha_figures(units, raters, values)
    _bootstrap_figures(units, values)
    _bradley_terry_figures()
