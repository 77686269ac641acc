"""Search at SportSkills scale: 630,000 clips x 512 dims, 1,000 queries, k=50.

Prints exact search (batch and one query at a time) against a numpy
matmul + argpartition baseline in the same run, single-query latency against
the memory-bandwidth floor (bytes scanned / measured copy bandwidth), and the
cost of restricting a search to one of 55 sports three ways. One copy of the
vectors lives in memory (inside the index, 1.3 GB); the numpy baseline reads
the same storage through a zero-copy view. Figures are noisy when other work
shares the machine.
"""

from __future__ import annotations

import os
import statistics
import time

import faiss
import numpy as np

from retrieval_backend.search import ClipIndex

N, DIM, NQ, K, SPORTS = 630_000, 512, 1_000, 50, 55
SINGLE_RUNS = 30


def _unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def numpy_topk(vectors: np.ndarray, queries: np.ndarray, k: int, block: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: scores by matmul, top k by argpartition then a sort of those k, in query blocks."""
    scores_out = np.empty((len(queries), k), dtype=np.float32)
    rows_out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1)
        rows_out[start : start + block] = np.take_along_axis(top, order, axis=1)
        scores_out[start : start + block] = np.take_along_axis(top_scores, order, axis=1)
    return scores_out, rows_out


def copy_bandwidth_gb_s(nbytes: int = 512 << 20, repeats: int = 5) -> float:
    """Bytes moved (read + write) per second by a large numpy copy: the machine's streaming rate."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    best = min(_timed(np.copyto, dst, src)[0] for _ in range(repeats))
    return 2 * nbytes / best / 1e9


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"gallery {N:,} x {DIM} float32 ({N * DIM * 4 / 1e9:.2f} GB), {NQ:,} queries, k={K}, {SPORTS} sports")
    print(f"threads: faiss {faiss.omp_get_max_threads()}; load average {os.getloadavg()[0]:.1f} (noisy when > 0.5)")
    vectors = _unit_rows(rng, N)
    ids = rng.permutation(N).astype(np.int64) + 1
    sports = rng.integers(1, SPORTS + 1, size=N)
    build_s, index = _timed(ClipIndex.build, ids, sports, vectors)
    del vectors  # the index holds the only copy from here on
    stored = index.vectors
    print(f"build flat index: {build_s:.1f} s")
    queries = _unit_rows(rng, NQ)

    faiss_s, (f_scores, f_ids) = _timed(index.search, queries, K)
    numpy_s, (n_scores, n_rows) = _timed(numpy_topk, stored, queries, K)
    agree = np.mean([len(set(a) & set(b)) / K for a, b in zip(f_ids, index.ids[n_rows], strict=True)])
    print("\nbatch of 1,000 queries (whole gallery)")
    print(f"  faiss IndexFlatIP   {faiss_s:7.2f} s   {1000 * faiss_s / NQ:7.2f} ms/query")
    ratio = numpy_s / faiss_s
    print(f"  numpy matmul+argp.  {numpy_s:7.2f} s   {1000 * numpy_s / NQ:7.2f} ms/query   ({ratio:.2f}x faiss)")
    print(f"  same neighbours: {agree:.4f}   max score difference {np.abs(f_scores - n_scores).max():.2e}")

    # Interleaved, query by query, so that load from other processes falls on all three alike.
    one, one_faiss, one_np = [], [], []
    for i in range(SINGLE_RUNS):
        one.append(_timed(index.search, queries[i : i + 1], K)[0])
        one_faiss.append(_timed(index.index.search, queries[i : i + 1], K)[0])
        one_np.append(_timed(numpy_topk, stored, queries[i : i + 1], K)[0])
    bandwidth = copy_bandwidth_gb_s()
    scanned = N * DIM * 4
    floor_ms = 1000 * scanned / (bandwidth * 1e9)
    # A copy moves 2 bytes per byte copied; a scan only reads, so its floor is bytes / (copy rate / 2) at worst.
    floor_read_ms = 1000 * scanned / (bandwidth / 2 * 1e9)
    single = statistics.median(one) * 1000
    print("\nsingle query (median of 30), whole gallery")
    print(
        f"  ClipIndex.search (numpy BLAS below 20 queries) {single:7.2f} ms\n"
        f"  faiss IndexIDMap.search                        {statistics.median(one_faiss) * 1000:7.2f} ms\n"
        f"  numpy baseline                                 {statistics.median(one_np) * 1000:7.2f} ms"
    )
    print(f"  copy bandwidth {bandwidth:.1f} GB/s (read+write); {scanned / 1e9:.2f} GB scanned per query")
    print(
        f"  floor {floor_ms:.1f} ms (at the copy rate) to {floor_read_ms:.1f} ms (at half of it): "
        f"ClipIndex is {single / floor_ms:.2f}x / {single / floor_read_ms:.2f}x the floor"
    )

    query_sports = rng.integers(1, SPORTS + 1, size=NQ)
    slice_s, (_, s_ids) = _timed(index.search, queries, K, sports=query_sports)

    def by_selector(method) -> np.ndarray:
        out = np.empty((NQ, K), dtype=np.int64)
        for sport in np.unique(query_sports):
            rows = np.flatnonzero(query_sports == sport)
            out[rows] = method(queries[rows], K, sport)[1]
        return out

    batch_s, b_ids = _timed(by_selector, index.search_with_id_selector)
    range_s, r_ids = _timed(by_selector, index.search_with_range_selector)
    print("\nper-sport restriction, 1,000 queries over 55 sports (~11,500 clips each)")
    print(f"  contiguous block, exact (used)       {slice_s:6.2f} s  {1000 * slice_s / NQ:6.2f} ms/query")
    print(f"  IDSelectorBatch on the IndexIDMap    {batch_s:6.2f} s  {1000 * batch_s / NQ:6.2f} ms/query")
    print(f"  IDSelectorRange on the flat storage  {range_s:6.2f} s  {1000 * range_s / NQ:6.2f} ms/query")
    print(f"  same results: {np.array_equal(s_ids, b_ids) and np.array_equal(s_ids, r_ids)}")
    sport = int(query_sports[0])
    one_sport = [_timed(index.search, queries[i : i + 1], K, sports=np.array([sport]))[0] for i in range(SINGLE_RUNS)]
    print(f"  single query in one sport: {statistics.median(one_sport) * 1000:.2f} ms (median of 30)")
