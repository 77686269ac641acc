"""How many rows each gallery table holds: a bad input must leave every count as it was."""

from __future__ import annotations

from retrieval_backend.models import CandidateSet, Clip, MistakeQuery, RetrievalMethod, Sport, Video


def row_counts() -> tuple[int, ...]:
    return (
        Video.objects.count(),
        Clip.objects.count(),
        Sport.objects.count(),
        MistakeQuery.objects.count(),
        CandidateSet.objects.count(),
        RetrievalMethod.objects.count(),
    )
