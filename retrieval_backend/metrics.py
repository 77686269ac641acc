"""Offline retrieval metrics over ranked clip lists and known positives.

Plain Python with no Django import, so the definitions can be checked by hand
and reused on exported data. Ranks are 1-based. A ranked list is only as deep
as what was stored (the candidate set's k): a positive that is not in the list
counts as "not retrieved", with rank infinity, never as a guess.

Definitions, for one query with a set P of known positive clips:

- Recall@K is 1 when at least one positive is in the top K, else 0 (the hit
  rate used in video retrieval papers; with one positive per query it equals
  the share of positives found). The method's Recall@K is the mean over queries.
- The first-positive rank is the rank of the best-ranked positive, or infinity
  when none was retrieved. The median over queries counts those infinities, so
  it is infinite when more than half the queries retrieved no positive.
- Average precision is the mean, over all of P, of precision at the rank of
  each positive; a positive not retrieved contributes 0. mAP is its mean over
  queries. Truncated at the list depth, it is a lower bound of untruncated AP.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

NOT_RETRIEVED = math.inf


def first_positive_rank(ranked: Sequence[Hashable], positives: Collection[Hashable]) -> float:
    """The 1-based rank of the first positive in ``ranked``, or ``math.inf`` when none is there."""
    for rank, clip in enumerate(ranked, start=1):
        if clip in positives:
            return rank
    return NOT_RETRIEVED


def hit_at(ranked: Sequence[Hashable], positives: Collection[Hashable], k: int) -> float:
    """1.0 when a positive is in the top ``k`` of ``ranked``, else 0.0."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    return 1.0 if first_positive_rank(ranked[:k], positives) <= k else 0.0


def average_precision(ranked: Sequence[Hashable], positives: Collection[Hashable]) -> float:
    """Average precision of one ranked list; positives that were not retrieved count as precision 0."""
    if not positives:
        raise ValueError("average precision needs at least one positive")
    found = 0
    total = 0.0
    seen: set[Hashable] = set()
    for rank, clip in enumerate(ranked, start=1):
        # A clip listed twice must not count twice: that would reward a broken ranking.
        if clip in positives and clip not in seen:
            found += 1
            total += found / rank
        seen.add(clip)
    return total / len(positives)


def median_rank(ranks: Iterable[float]) -> float:
    """The median of first-positive ranks, infinities included; ``math.nan`` for no ranks at all."""
    values = sorted(ranks)
    if not values:
        return math.nan
    # statistics.median averages the two middle values, and inf + n = inf, which is what we want.
    return float(statistics.median(values))


@dataclass
class MethodScores:
    """Metrics of one method over the queries that have positives and a candidate list from it."""

    queries: int
    recall: dict[int, float]
    median_rank: float
    mean_average_precision: float
    not_retrieved: int
    # The shallowest list evaluated: Recall@K for K above it cannot see past it.
    depth: int
    limited_by_depth: list[int] = field(default_factory=list)


def score_method(
    rankings: Iterable[tuple[Sequence[Hashable], Collection[Hashable], int]],
    cutoffs: Sequence[int] = (1, 5, 10, 50),
) -> MethodScores:
    """Score a method from (ranked clips, positives, stored depth) per query.

    The stored depth is the k the list was made with, which can exceed the
    list's length when a sport has fewer clips than k.
    """
    hits = dict.fromkeys(cutoffs, 0.0)
    ranks: list[float] = []
    ap_sum = 0.0
    depth = math.inf
    count = 0
    for ranked, positives, stored_depth in rankings:
        count += 1
        depth = min(depth, stored_depth)
        rank = first_positive_rank(ranked, positives)
        ranks.append(rank)
        for cutoff in cutoffs:
            hits[cutoff] += 1.0 if rank <= cutoff else 0.0
        ap_sum += average_precision(ranked, positives)
    if count == 0:
        return MethodScores(
            queries=0,
            recall=dict.fromkeys(cutoffs, math.nan),
            median_rank=math.nan,
            mean_average_precision=math.nan,
            not_retrieved=0,
            depth=0,
        )
    whole_depth = int(depth)
    return MethodScores(
        queries=count,
        recall={cutoff: hits[cutoff] / count for cutoff in cutoffs},
        median_rank=median_rank(ranks),
        mean_average_precision=ap_sum / count,
        not_retrieved=sum(1 for r in ranks if r == NOT_RETRIEVED),
        depth=whole_depth,
        limited_by_depth=[cutoff for cutoff in cutoffs if cutoff > whole_depth],
    )
