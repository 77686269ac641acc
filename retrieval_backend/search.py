"""A FAISS index of clip vectors that knows each clip's sport: build, save atomically, load, search.

Plain Python (no Django) so it can be benchmarked and tested alone.

Rows are stored sorted by (sport, clip id), so the clips of one sport are one
contiguous block of the flat storage. A search restricted to a sport then scans
only that block, exactly, with ``faiss.knn`` over a zero-copy view: at
SportSkills scale (55 sports, 630k clips) that is ~11k rows instead of 630k,
and it is exact even when the whole-gallery index is HNSW. The alternatives,
an ``IDSelectorBatch`` of the sport's ids or an ``IDSelectorRange`` over the
block, are kept for the search benchmark, which measures all three.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

_ADD_BLOCK = 65536
# From this many queries on, FAISS's batched search beats a numpy matrix product (see exact_top_k).
_FAISS_MIN_QUERIES = 20
_HASH_CHUNK = 1 << 22


@dataclass(frozen=True)
class SavedIndex:
    path: Path
    meta_path: Path
    sha256: str


class ClipIndex:
    """Clip vectors (inner product) with their clip ids and sports, searchable whole or per sport."""

    def __init__(self, index: faiss.Index, ids: np.ndarray, sports: np.ndarray, attempted: np.ndarray | None = None):
        self.index = index
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.sports = np.ascontiguousarray(sports, dtype=np.int64)
        # Every clip an embedding run tried, failures included, so a failed clip is not retried forever.
        self.attempted = np.unique(self.ids if attempted is None else np.asarray(attempted, dtype=np.int64))
        self.kind = "hnsw" if isinstance(self._inner, faiss.IndexHNSW) else "flat"
        self._ranges = _sport_ranges(self.sports)
        self._id_order = np.argsort(self.ids, kind="stable")

    # --- building ----------------------------------------------------------

    @classmethod
    def build(
        cls,
        ids: np.ndarray,
        sports: np.ndarray,
        vectors: np.ndarray,
        *,
        kind: str = "flat",
        hnsw_m: int = 32,
        attempted: np.ndarray | None = None,
    ) -> ClipIndex:
        """Index ``vectors`` (row i is clip ``ids[i]`` of sport ``sports[i]``); adds in blocks, copying little."""
        ids = np.asarray(ids, dtype=np.int64)
        sports = np.asarray(sports, dtype=np.int64)
        if vectors.ndim != 2 or len(vectors) != len(ids) or len(sports) != len(ids):
            raise ValueError("ids, sports and vectors must have the same number of rows")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("a clip id appears twice in the vectors to index")
        dim = vectors.shape[1]
        if kind == "flat":
            inner: faiss.Index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        else:
            raise ValueError(f'index kind must be "flat" or "hnsw", not {kind!r}')
        index = faiss.IndexIDMap(inner)
        order = np.lexsort((ids, sports))
        for start in range(0, len(order), _ADD_BLOCK):
            rows = order[start : start + _ADD_BLOCK]
            index.add_with_ids(np.ascontiguousarray(vectors[rows], dtype=np.float32), ids[rows])
        return cls(index, ids[order], sports[order], attempted)

    # --- storage -----------------------------------------------------------

    def save(self, path: str | Path) -> SavedIndex:
        """Write ``path`` (the FAISS index) and ``path.meta.npz`` (ids, sports) via temp files and rename.

        A reader never sees a half-written index: each file appears whole or not
        at all, and the checksum covers both.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta_path = meta_path_for(path)
        tmp_index = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp_meta = meta_path.with_name(f".{meta_path.stem}.{os.getpid()}.tmp.npz")
        try:
            faiss.write_index(self.index, str(tmp_index))
            np.savez(tmp_meta, ids=self.ids, sports=self.sports, attempted=self.attempted)
            sha256 = files_sha256(tmp_index, tmp_meta)
            os.replace(tmp_meta, meta_path)
            os.replace(tmp_index, path)
        finally:
            for tmp in (tmp_index, tmp_meta):
                tmp.unlink(missing_ok=True)
        return SavedIndex(path, meta_path, sha256)

    @classmethod
    def load(cls, path: str | Path) -> ClipIndex:
        path = Path(path)
        index = faiss.read_index(str(path))
        with np.load(meta_path_for(path)) as meta:
            return cls(index, meta["ids"], meta["sports"], meta["attempted"])

    # --- reading -----------------------------------------------------------

    @property
    def _inner(self) -> faiss.Index:
        return faiss.downcast_index(self.index.index)

    @property
    def _flat(self) -> faiss.IndexFlat:
        inner = self._inner
        return faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) else inner

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def n(self) -> int:
        return int(self.index.ntotal)

    @property
    def vectors(self) -> np.ndarray:
        """A read-only, zero-copy view of the stored vectors in row order (valid while this object lives)."""
        if self.n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        view = faiss.rev_swig_ptr(self._flat.get_xb(), self.n * self.dim).reshape(self.n, self.dim)
        view.flags.writeable = False
        return view

    def rows_for_ids(self, clip_ids: np.ndarray) -> np.ndarray:
        """Row of each clip id, or -1 for ids not in the index."""
        clip_ids = np.asarray(clip_ids, dtype=np.int64)
        if self.n == 0:
            return np.full(clip_ids.shape, -1, dtype=np.int64)
        sorted_ids = self.ids[self._id_order]
        where = np.clip(np.searchsorted(sorted_ids, clip_ids), 0, self.n - 1)
        found = sorted_ids[where] == clip_ids
        return np.where(found, self._id_order[where], -1)

    def sport_rows(self, sport: int) -> tuple[int, int]:
        """The [start, end) block of rows holding this sport's clips (empty when it has none)."""
        return self._ranges.get(int(sport), (0, 0))

    # --- searching ---------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, *, sports: np.ndarray | None = None, ef_search: int = 128
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores (nq, k) and clip ids (nq, k), best first; ``-1`` ids (score ``-inf``) pad short lists."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"query vectors have shape {queries.shape}; this index holds dimension {self.dim}")
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        found = np.full((len(queries), k), -1, dtype=np.int64)
        if len(queries) == 0 or self.n == 0 or k <= 0:
            return scores, found
        if sports is None:
            if self.kind == "flat":
                kk = min(k, self.n)
                scores[:, :kk], rows = exact_top_k(self.vectors, queries, kk)
                found[:, :kk] = self.ids[rows]
                return scores, found
            params = faiss.SearchParametersHNSW(efSearch=max(ef_search, k))
            distances, labels = self.index.search(queries, k, params=params)
            valid = labels >= 0
            scores[valid], found[valid] = distances[valid], labels[valid]
            return scores, found
        sports = np.asarray(sports, dtype=np.int64)
        for sport in np.unique(sports):
            rows = np.flatnonzero(sports == sport)
            start, end = self.sport_rows(sport)
            if end == start:
                continue
            kk = min(k, end - start)
            distances, labels = exact_top_k(self.vectors[start:end], queries[rows], kk)
            scores[rows, :kk] = distances
            found[rows, :kk] = self.ids[start + labels]
        return scores, found

    def search_with_id_selector(self, queries: np.ndarray, k: int, sport: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-sport search by an ``IDSelectorBatch`` of the sport's clip ids (kept for the benchmark)."""
        start, end = self.sport_rows(sport)
        selector = faiss.IDSelectorBatch(self.ids[start:end])
        return self.index.search(queries, k, params=faiss.SearchParameters(sel=selector))

    def search_with_range_selector(self, queries: np.ndarray, k: int, sport: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-sport search by an ``IDSelectorRange`` over the sport's rows of the flat storage (benchmark)."""
        start, end = self.sport_rows(sport)
        selector = faiss.IDSelectorRange(start, end)
        distances, rows = self._flat.search(queries, k, params=faiss.SearchParameters(sel=selector))
        return distances, np.where(rows >= 0, self.ids[np.maximum(rows, 0)], -1)


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top ``k`` (scores, row numbers), best first; ties go to the lower row.

    FAISS splits a search across threads by query, so below its BLAS threshold
    (20 queries) one query runs on one core; a BLAS matrix-vector product uses
    them all. Few queries therefore go through numpy, many through FAISS (BLAS
    plus a fused heap), whichever the search benchmark found faster.
    """
    if len(queries) >= _FAISS_MIN_QUERIES:
        return faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    scores = queries @ vectors.T
    if k < scores.shape[1]:
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.lexsort((top, -top_scores), axis=1)
    return np.take_along_axis(top_scores, order, axis=1), np.take_along_axis(top, order, axis=1)


def meta_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".meta.npz")


def files_sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _sport_ranges(sorted_sports: np.ndarray) -> dict[int, tuple[int, int]]:
    if len(sorted_sports) == 0:
        return {}
    if np.any(np.diff(sorted_sports) < 0):
        raise ValueError("rows are not sorted by sport; build the index with ClipIndex.build")
    values, starts = np.unique(sorted_sports, return_index=True)
    ends = [*starts[1:], len(sorted_sports)]
    return {int(v): (int(s), int(e)) for v, s, e in zip(values, starts, ends, strict=True)}
