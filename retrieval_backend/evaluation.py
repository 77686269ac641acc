"""Offline evaluation of stored candidate sets against the queries' known positives.

A thin layer over ``retrieval_backend.metrics``: it reads rows as plain lists,
streamed in rank order, and leaves the definitions to the pure functions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from retrieval_backend.metrics import MethodScores, score_method
from retrieval_backend.models import Candidate, MistakeQuery, RetrievalMethod

CUTOFFS = (1, 5, 10, 50)


@dataclass
class MethodEvaluation:
    method: str
    scores: MethodScores
    # Queries with positives for which this method has no candidate set: left out of its scores.
    without_candidates: int


def known_positives() -> dict[int, frozenset[int]]:
    """query pk -> the clip pks known to help it, for every query that has any."""
    through = MistakeQuery.positives.through
    rows = through.objects.order_by("mistakequery_id").values_list("mistakequery_id", "clip_id")
    return {
        query_id: frozenset(clip for _, clip in group)
        for query_id, group in itertools.groupby(rows.iterator(chunk_size=10000), key=lambda r: r[0])
    }


def evaluate_methods(
    methods: Sequence[RetrievalMethod], cutoffs: Sequence[int] = CUTOFFS
) -> tuple[int, list[MethodEvaluation]]:
    """Score each method on the queries with known positives; returns (queries with positives, evaluations)."""
    positives = known_positives()
    evaluations = []
    for method in methods:
        rankings = list(_rankings(method, positives))
        scores = score_method(rankings, cutoffs)
        evaluations.append(MethodEvaluation(method.name, scores, len(positives) - scores.queries))
    return len(positives), evaluations


def _rankings(
    method: RetrievalMethod, positives: dict[int, frozenset[int]]
) -> Iterator[tuple[list[int], frozenset[int], int]]:
    rows = (
        Candidate.objects.filter(candidate_set__method=method)
        .order_by("candidate_set__query_id", "rank")
        .values_list("candidate_set__query_id", "candidate_set__k", "clip_id")
    )
    for (query_id, depth), group in itertools.groupby(rows.iterator(chunk_size=10000), key=lambda r: r[:2]):
        wanted = positives.get(query_id)
        if wanted:
            yield [clip for _, _, clip in group], wanted, depth
