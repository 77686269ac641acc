"""Storing candidate sets: one ranked list of clips per (query, method), replaced whole.

Shared by generation on workers and by imports of candidates computed
elsewhere, so both write sets the same way and a reader never sees a
half-written one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from django.db import transaction

from retrieval_backend.models import Candidate, CandidateSet, RetrievalMethod

# (clip pk, score), best first.
Ranking = Sequence[tuple[int, float]]


def params_hash(method: RetrievalMethod, k: int) -> str:
    """A fingerprint of everything that decides a generated set: backend, params (seed included), version, k.

    Stored on each set so that a study can tell sets made with other settings
    apart from the current ones.
    """
    described = {
        "backend": method.backend,
        "params": method.params,
        "version": method.version,
        "k": k,
        "seed": (method.params or {}).get("seed"),
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def store_candidate_sets(
    method: RetrievalMethod,
    rankings: Mapping[int, Ranking],
    *,
    source: str,
    k: int | None = None,
    params_hash: str = "",
) -> int:
    """Write one set per query of ``rankings`` (query pk -> [(clip pk, score)], best first); returns how many.

    The set rows are upserted on (query, method) and their candidates replaced
    in one transaction, so writing the same rankings twice leaves the same rows
    and a reader never sees a half-written set. ``k`` is the depth asked for;
    without it, each set's depth is its length (imported sets).
    """
    if not rankings:
        return 0
    query_ids = sorted(rankings)
    with transaction.atomic():
        sets = CandidateSet.objects.bulk_create(
            [
                CandidateSet(
                    query_id=query_id,
                    method=method,
                    k=k if k is not None else len(rankings[query_id]),
                    params_hash=params_hash,
                    source=source,
                )
                for query_id in query_ids
            ],
            update_conflicts=True,
            unique_fields=["query", "method"],
            update_fields=["k", "params_hash", "source"],
        )
        set_ids = {s.query_id: s.pk for s in sets}
        Candidate.objects.filter(candidate_set_id__in=set_ids.values()).delete()
        Candidate.objects.bulk_create(
            (
                Candidate(candidate_set_id=set_ids[query_id], rank=rank, clip_id=clip_id, score=float(score))
                for query_id in query_ids
                for rank, (clip_id, score) in enumerate(rankings[query_id], start=1)
            ),
            batch_size=5000,
        )
    return len(query_ids)
