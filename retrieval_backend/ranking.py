"""Rank clips for mistake queries with a retrieval method: the one entry point candidate generation uses.

Results are restricted to the query's sport unless the method's parameters
say ``"any_sport": true``, and are deterministic for the same inputs (and
seed, for the random control). Workers load an index once and keep it, keyed
by its checksum, so a rebuilt index (new checksum) is picked up and an
unchanged one is never read twice.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval_backend.embedding import describe_missing_index, ensure_index, ready_index
from retrieval_backend.methods import Encoded, QueryItem, get_backend
from retrieval_backend.models import Clip, EmbeddingIndex, MistakeQuery, RetrievalMethod, Video
from retrieval_backend.search import ClipIndex, files_sha256, meta_path_for

logger = logging.getLogger(__name__)

# Two indexes per worker: the one in use and the one replacing it. At 630k x 512 floats each is 1.3 GB.
_CACHE_SIZE = 2
_cache: OrderedDict[str, ClipIndex] = OrderedDict()
_cache_lock = threading.Lock()
_ID_BATCH = 5000

__all__ = ["IndexNotReady", "Rankings", "ensure_index", "load_index", "rank_queries"]


class IndexNotReady(Exception):
    """The method needs an embedding index that is not built (or still building); the message says what to run."""


class Rankings(dict[int, list[tuple[int, float]]]):
    """query pk -> [(clip pk, score)], best first. ``errors`` holds queries that could not be encoded."""

    def __init__(self, ranked: dict[int, list[tuple[int, float]]], errors: dict[int, str] | None = None):
        super().__init__(ranked)
        self.errors: dict[int, str] = errors or {}


def load_index(row: EmbeddingIndex) -> ClipIndex:
    """The index of ``row``, read from disk once per process and checked against its recorded checksum."""
    with _cache_lock:
        if row.sha256 in _cache:
            _cache.move_to_end(row.sha256)
            return _cache[row.sha256]
        path = Path(row.path)
        if files_sha256(path, meta_path_for(path)) != row.sha256:
            raise IndexNotReady(
                f"the index file {path} does not match the checksum recorded for {row}; it was changed or "
                f"damaged after it was built. Rebuild it: python manage.py build_index {row.method.name} --rebuild"
            )
        index = ClipIndex.load(path)
        _cache[row.sha256] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return index


def query_items(queries: Sequence[MistakeQuery]) -> list[QueryItem]:
    uris = dict(Video.objects.filter(pk__in={q.video_id for q in queries}).values_list("pk", "source_uri"))
    return [
        QueryItem(
            pk=q.pk,
            sport_id=q.sport_id,
            video_uri=uris.get(q.video_id, ""),
            start_s=q.start_s,
            end_s=q.end_s,
            mistake=q.mistake,
            skill=q.skill,
        )
        for q in queries
    ]


def rank_queries(method: RetrievalMethod, queries: Sequence[MistakeQuery], k: int) -> Rankings:
    """For each query, at most ``k`` (clip pk, score) pairs, best first.

    Raises ``IndexNotReady`` when the method needs an index that is not ready.
    Queries whose execution video cannot be decoded are left out of the result
    and listed, with the reason, in ``.errors``.
    """
    backend = get_backend(method)
    items = query_items(queries)
    any_sport = backend.params["any_sport"]
    if not backend.needs_index:
        pools = {
            sport: _clip_ids(None if sport is None else sport)
            for sport in ({None} if any_sport else {q.sport_id for q in items})
        }
        return Rankings(backend.rank_without_index(items, pools, k))
    row = ready_index(method, backend)
    if row is None:
        raise IndexNotReady(describe_missing_index(method, backend))
    index = load_index(row)
    encoded = Encoded.of(backend.encode_queries(items), len(items)) if items else Encoded(np.zeros((0, index.dim)))
    if encoded.vectors.shape[1] != index.dim:
        raise IndexNotReady(
            f"method {method.name!r} now makes {encoded.vectors.shape[1]}-dimensional query vectors but its index "
            f"holds {index.dim}; rebuild it: python manage.py build_index {method.name} --rebuild"
        )
    ok = encoded.ok_positions
    sports = None if any_sport else np.array([items[i].sport_id for i in ok], dtype=np.int64)
    scores, found = backend.search(index, encoded.vectors[ok], k, sports)
    existing = _existing(np.unique(found[found >= 0]))
    ranked: dict[int, list[tuple[int, float]]] = {}
    for row_scores, row_ids, position in zip(scores, found, ok, strict=True):
        # A clip deleted since the index was built is skipped rather than returned.
        ranked[items[position].pk] = [
            (int(clip), float(score))
            for clip, score in zip(row_ids, row_scores, strict=True)
            if clip >= 0 and int(clip) in existing
        ]
    errors = {items[position].pk: reason for position, reason in encoded.failed.items()}
    return Rankings(ranked, errors)


def _clip_ids(sport: int | None) -> np.ndarray:
    clips = Clip.objects.all() if sport is None else Clip.objects.filter(sport_id=sport)
    return np.fromiter(clips.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=20000), np.int64)


def _existing(clip_ids: np.ndarray) -> set[int]:
    values = clip_ids.tolist()
    existing: set[int] = set()
    for start in range(0, len(values), _ID_BATCH):
        existing.update(Clip.objects.filter(pk__in=values[start : start + _ID_BATCH]).values_list("pk", flat=True))
    return existing
