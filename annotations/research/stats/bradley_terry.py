"""Bradley-Terry strengths of retrieval methods by maximum likelihood, with bootstrap intervals.

P(i judged more helpful than j) = exp(t_i) / (exp(t_i) + exp(t_j)). A tie counts as half a win for
each side (Rao-Kupper or Davidson tie models are not used); "neither helps" carries no preference and
is left out. Log-strengths are centred to mean 0. The likelihood is maximised by Newton's method on
all resamples at once (a batch of small graph-Laplacian systems).

The maximum exists only if the "beat or tied" graph is strongly connected: if some set of methods
never beat nor tied any method outside it, their strengths run off to minus infinity. That is common
early in a study (a control method that has lost every comparison so far), so then, and when more
than 5% of the bootstrap resamples lack a maximum (the intervals would come from the lucky ones
only), every fit, the point estimate and all resamples alike, is penalised instead: half a pseudo-win
each way is added to every pair of methods compared at least once (a symmetric prior that pulls
strengths towards each other; its effect fades as comparisons accumulate). ``Leaderboard.estimator``
says which was used and why. Methods in groups never compared with each other at all still get a
StatisticError: no prior can place them on one scale.

Bootstrap: queries are resampled with replacement (each brings all its comparisons) when query ids
are given, otherwise single comparisons; the interval is the 2.5th to 97.5th percentile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotations.research.stats.coding import as_text, encode_together, group_codes
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.pairwise import NEITHER, TIE, validate_outcomes
from annotations.research.stats.resampling import (
    merge_identical_rows,
    percentile_interval,
    resample_weights,
    weight_blocks,
)

TIE_RULE = "a tie counts as half a win for each method; 'neither' judgements are left out"
_MAX_ITERATIONS = 100
PRIOR_WINS = 0.5
MAX_DROPPED_SHARE = 0.05
MAXIMUM_LIKELIHOOD = "maximum likelihood"


@dataclass(frozen=True)
class MethodStrength:
    """One method's place on the leaderboard."""

    method: str
    log_strength: float
    ci95: tuple[float, float] | None
    wins: int
    losses: int
    ties: int
    neither: int


@dataclass(frozen=True)
class Leaderboard:
    """Methods sorted by Bradley-Terry log-strength, strongest first."""

    methods: list[MethodStrength]
    n_comparisons: int
    ties: str
    resampled: str  # "queries" or "comparisons"
    n_resamples: int  # bootstrap resamples where the maximum likelihood existed
    n_resamples_dropped: int
    estimator: str = MAXIMUM_LIKELIHOOD  # or the penalised fit, with the reason


def bradley_terry(
    a: Sequence[str],
    b: Sequence[str],
    winner: Sequence[str],
    *,
    queries: Sequence[object] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> Leaderboard:
    """Fit log-strengths to comparisons ``a[i]`` vs ``b[i]`` won by ``winner[i]`` (a name, ``tie`` or ``neither``)."""
    validate_outcomes(a, b, winner)
    a_text, b_text, won = as_text(a), as_text(b), as_text(winner)
    n = won.size
    (first, second), methods = encode_together(a_text, b_text)
    first_won = won == a_text
    second_won = won == b_text
    tied = won == TIE
    neither = won == NEITHER

    m = methods.size
    # Per comparison, its contribution to the (winner, loser) matrix, flattened: a win, or half of one for a tie.
    forward, backward = first * m + second, second * m + first
    gain_first, gain_second = first_won + 0.5 * tied, second_won + 0.5 * tied
    if queries is not None:
        # Summed per query straight away (halves add exactly, in any order), never one row per comparison.
        query_codes = group_codes(queries)
        cells = (int(query_codes.max()) + 1) * m * m
        offset = query_codes * (m * m)
        contributions = np.bincount(offset + forward, weights=gain_first, minlength=cells)
        contributions += np.bincount(offset + backward, weights=gain_second, minlength=cells)
        contributions, resampled = contributions.reshape(-1, m * m), "queries"
    else:
        contributions = np.zeros((n, m * m))
        rows = np.arange(n)
        contributions[rows, forward] += gain_first
        contributions[rows, backward] += gain_second
        resampled = "comparisons"
    groups, frequency = _merge_rows(contributions)

    wins_matrix = (frequency @ groups).reshape(m, m)
    compared = (wins_matrix + wins_matrix.T + _played_without_preference(first, second, neither, m)) > 0
    _check_compared(compared, methods)
    prior = np.zeros((m, m))
    estimator = MAXIMUM_LIKELIHOOD
    missing = _missing_maximum(wins_matrix, methods)
    if missing:
        prior, estimator = _penalised(compared, missing)

    def fit_all(resamples: int, extra: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(seed)
        parts = []
        for block in weight_blocks(frequency.size, resamples):
            weights = resample_weights(rng, frequency, block.stop - block.start)
            parts.append(_fit((weights @ groups).reshape(-1, m, m) + extra))
        return np.concatenate(parts) if parts else np.empty((0, m))

    samples = fit_all(bootstrap, prior) if bootstrap > 0 else np.empty((0, m))
    dropped = int((~np.isfinite(samples).all(axis=1)).sum())
    if not prior.any() and dropped > MAX_DROPPED_SHARE * max(bootstrap, 1):
        prior, estimator = _penalised(
            compared,
            f"{dropped} of {bootstrap} bootstrap resamples had no maximum-likelihood fit (intervals from the "
            "rest would be biased)",
        )
        samples = fit_all(bootstrap, prior)
    strengths = _fit((wins_matrix + prior)[None])[0]
    kept = samples[np.isfinite(samples).all(axis=1)]

    def count(mask: np.ndarray, position: int) -> int:
        return int((mask & (first == position)).sum() + (mask & (second == position)).sum())

    table = [
        MethodStrength(
            method=str(name),
            log_strength=float(strengths[position]),
            ci95=percentile_interval(kept[:, position]) if kept.size else None,
            wins=int((first_won & (first == position)).sum() + (second_won & (second == position)).sum()),
            losses=int((second_won & (first == position)).sum() + (first_won & (second == position)).sum()),
            ties=count(tied, position),
            neither=count(neither, position),
        )
        for position, name in enumerate(methods.tolist())
    ]
    table.sort(key=lambda row: (-row.log_strength, row.method))
    return Leaderboard(
        methods=table,
        n_comparisons=n,
        ties=TIE_RULE,
        resampled=resampled,
        n_resamples=int(kept.shape[0]),
        n_resamples_dropped=int(samples.shape[0] - kept.shape[0]),
        estimator=estimator,
    )


def _merge_rows(contributions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Identical comparison rows merged; halves are doubled to integers for the merge and halved back."""
    doubled = np.rint(contributions * 2).astype(np.int64)
    rows, frequency = merge_identical_rows(doubled)
    return rows / 2.0, frequency


def _played_without_preference(first: np.ndarray, second: np.ndarray, neither: np.ndarray, m: int) -> np.ndarray:
    """Pairs compared only with "neither helps" answers: compared, though they carry no win."""
    played = np.zeros((m, m))
    np.add.at(played, (first[neither], second[neither]), 1.0)
    return played + played.T


def _check_compared(compared: np.ndarray, methods: np.ndarray) -> None:
    """Every method must be linked to every other by a chain of comparisons, or there is no common scale."""
    reach = _reachability(compared[None].astype(np.float64))[0]
    if not reach[0].all():
        inside = methods[reach[0]].tolist()
        outside = methods[~reach[0]].tolist()
        raise StatisticError(
            f"Bradley-Terry strengths can't be put on one scale: {', '.join(inside)} were never compared with "
            f"{', '.join(outside)} (directly or through other methods); comparisons between these groups are needed"
        )


def _missing_maximum(wins: np.ndarray, methods: np.ndarray) -> str:
    """Why the maximum-likelihood fit does not exist for these wins, or "" when it does."""
    reach = _reachability(wins[None])[0]
    for start in range(methods.size):
        if not reach[start].all():
            inside = methods[reach[start]].tolist()
            outside = methods[~reach[start]].tolist()
            return (
                f"{', '.join(inside)} never beat nor tied {', '.join(outside)} (directly or through other methods), "
                "so the maximum-likelihood fit does not exist"
            )
    return ""


def _penalised(compared: np.ndarray, reason: str) -> tuple[np.ndarray, str]:
    prior = PRIOR_WINS * (compared & ~np.eye(compared.shape[0], dtype=bool))
    return prior, (
        f"penalised maximum likelihood: {PRIOR_WINS} pseudo-win each way added to every pair of methods compared, "
        f"because {reason}"
    )


def _reachability(wins: np.ndarray) -> np.ndarray:
    """``reach[b, i, j]``: a chain of wins or ties leads from i to j in resample b."""
    m = wins.shape[1]
    reach = (wins > 0) | np.eye(m, dtype=bool)
    for _ in range(int(np.ceil(np.log2(max(m, 2))))):
        reach = (reach.astype(np.float64) @ reach.astype(np.float64)) > 0
    return reach


def _fit(wins: np.ndarray) -> np.ndarray:
    """Centred log-strengths for each (m, m) win matrix of a batch; NaN rows where the maximum does not exist."""
    batch, m, _ = wins.shape
    valid = _reachability(wins).all(axis=(1, 2))
    games = wins + wins.transpose(0, 2, 1)
    total_wins = wins.sum(axis=2)
    theta = np.zeros((batch, m))
    centring = np.full((m, m), 1.0 / m)
    for _ in range(_MAX_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(theta[:, None, :] - theta[:, :, None]))  # p[b, i, j] = P(i beats j)
        gradient = total_wins - (games * p).sum(axis=2)
        information = games * p * (1.0 - p)
        laplacian = np.einsum("bij->bi", information)[:, :, None] * np.eye(m) - information
        # The Laplacian is singular along the all-ones direction (strengths are relative); adding the
        # centring projection fixes that direction without changing the step, whose mean is 0.
        system = np.where(valid[:, None, None], laplacian + centring, np.eye(m))
        step = np.linalg.solve(system, np.where(valid[:, None], gradient, 0.0)[:, :, None])[:, :, 0]
        largest = np.abs(step).max(axis=1, keepdims=True)
        step = step * np.minimum(1.0, 2.0 / np.maximum(largest, 1e-300))  # damp early overshoots
        theta += step
        if largest.max() < 1e-10:
            break
    theta -= theta.mean(axis=1, keepdims=True)
    return np.where(valid[:, None], theta, np.nan)
