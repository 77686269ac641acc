"""Bootstrap resampling weights and percentile intervals shared by the statistics.

Every bootstrap here is a cluster bootstrap: whole units (or queries) are drawn with replacement,
so the ratings of one unit travel together. Drawing U clusters with replacement is the same as
giving each cluster a multinomial count, which lets a statistic written in terms of per-cluster
sums evaluate a thousand resamples as one matrix product instead of a Python loop.
"""

from __future__ import annotations

import numpy as np

#: Cells (resamples x groups) materialised at a time, so memory stays near 64 MB whatever the size.
_BLOCK_CELLS = 8_000_000


def resample_weights(rng: np.random.Generator, frequency: np.ndarray, n_resamples: int) -> np.ndarray:
    """Weights ``(n_resamples, len(frequency))``: how often each group is drawn in each resample.

    ``frequency[g]`` is how many clusters group ``g`` stands for (identical units are merged into one
    group). When there are far fewer groups than clusters the counts are drawn directly from a
    multinomial over groups; otherwise individual clusters are drawn and counted.
    """
    frequency = np.asarray(frequency, dtype=np.int64)
    n_clusters = int(frequency.sum())
    n_groups = frequency.size
    if n_groups * 8 <= n_clusters:
        return rng.multinomial(n_clusters, frequency / n_clusters, size=n_resamples).astype(np.float64)
    # Otherwise draw clusters; where every group is a single cluster the draw is the group itself.
    group_of_cluster = None if n_groups == n_clusters else np.repeat(np.arange(n_groups), frequency)
    weights = np.empty((n_resamples, n_groups), dtype=np.float64)
    # A few resamples at a time keep the scatter of bincount within the processor's caches.
    block = max(1, min(8, _BLOCK_CELLS // max(n_clusters, 1)))
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        drawn = rng.integers(0, n_clusters, size=(stop - start, n_clusters), dtype=np.int64)
        if group_of_cluster is not None:
            drawn = group_of_cluster[drawn]
        drawn += (np.arange(stop - start) * n_groups)[:, None]
        weights[start:stop] = np.bincount(drawn.ravel(), minlength=(stop - start) * n_groups).reshape(
            stop - start, n_groups
        )
    return weights


def weight_blocks(n_groups: int, n_resamples: int) -> list[slice]:
    """Slices of resamples small enough that a ``(block, n_groups)`` float array stays near 64 MB."""
    block = max(1, _BLOCK_CELLS // max(n_groups, 1))
    return [slice(start, min(start + block, n_resamples)) for start in range(0, n_resamples, block)]


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile bootstrap interval, ignoring resamples where the statistic was undefined.

    Returns None when no resample gave a value (the caller reports that rather than a NaN).
    """
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def merge_identical_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative integer count matrix (as floats) and how many times each occurs.

    Units with the same value counts contribute the same to every statistic here, so they can be
    carried as one weighted row: on a five-point scale with five ratings a unit there are at most
    126 distinct rows, whatever the number of units.
    """
    if counts.shape[0] == 0:
        return counts.astype(np.float64), np.zeros(0, dtype=np.int64)
    counts = counts.astype(np.int64, copy=False)
    radix = int(counts.max()) + 1
    if counts.shape[1] * np.log2(radix) < 62:
        # One integer per row (mixed radix) sorts far faster than rows compared column by column.
        keys = counts @ (radix ** np.arange(counts.shape[1], dtype=np.int64))
        _, first, frequency = np.unique(keys, return_index=True, return_counts=True)
        rows = counts[first]
    else:
        rows, frequency = np.unique(counts, axis=0, return_counts=True)
    return rows.astype(np.float64), frequency.astype(np.int64)
