"""The clip index returns exactly what a brute-force inner product over the same vectors returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval_backend.search import ClipIndex

N, DIM, K = 3000, 48, 20


@pytest.fixture
def gallery() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.choice(10 * N, size=N, replace=False).astype(np.int64) + 1  # clip pks: sparse, unordered
    sports = rng.integers(1, 6, size=N)
    return ids, sports, vectors


def brute_force(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ vectors.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), ids[order]


def queries_for(rng_seed: int, n: int = 40) -> np.ndarray:
    queries = np.random.default_rng(rng_seed).standard_normal((n, DIM)).astype(np.float32)
    return queries / np.linalg.norm(queries, axis=1, keepdims=True)


@pytest.mark.parametrize("n_queries", [1, 40])  # the numpy path for a few queries, FAISS for batches
def test_exact_search_matches_brute_force_neighbours_and_scores(gallery, n_queries):
    ids, sports, vectors = gallery
    index = ClipIndex.build(ids, sports, vectors)
    queries = queries_for(1, n=n_queries)
    scores, found = index.search(queries, K)
    expected_scores, expected_ids = brute_force(vectors, ids, queries, K)
    np.testing.assert_array_equal(found, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)


def test_sport_restricted_search_matches_brute_force_over_that_sport(gallery):
    ids, sports, vectors = gallery
    index = ClipIndex.build(ids, sports, vectors)
    queries = queries_for(2)
    query_sports = np.arange(len(queries)) % 5 + 1
    query_sports[:25] = 4  # one sport with enough queries for the FAISS path, the others on the numpy path
    scores, found = index.search(queries, K, sports=query_sports)
    for i, sport in enumerate(query_sports):
        mine = sports == sport
        expected_scores, expected_ids = brute_force(vectors[mine], ids[mine], queries[i : i + 1], K)
        np.testing.assert_array_equal(found[i], expected_ids[0])
        np.testing.assert_allclose(scores[i], expected_scores[0], rtol=1e-5, atol=1e-6)


def test_the_three_per_sport_strategies_agree(gallery):
    ids, sports, vectors = gallery
    index = ClipIndex.build(ids, sports, vectors)
    queries = queries_for(3, n=5)
    _, by_slice = index.search(queries, K, sports=np.full(len(queries), 3))
    _, by_batch = index.search_with_id_selector(queries, K, 3)
    _, by_range = index.search_with_range_selector(queries, K, 3)
    np.testing.assert_array_equal(by_slice, by_batch)
    np.testing.assert_array_equal(by_slice, by_range)


def test_a_sport_with_fewer_clips_than_k_pads_with_minus_one(gallery):
    ids, sports, vectors = gallery
    sports = sports.copy()
    sports[:3] = 99  # three clips only
    index = ClipIndex.build(ids, sports, vectors)
    scores, found = index.search(queries_for(4, n=2), K, sports=np.array([99, 12345]))
    assert sorted(found[0, :3]) == sorted(ids[:3])
    assert (found[0, 3:] == -1).all()
    assert np.isneginf(scores[0, 3:]).all()
    assert (found[1] == -1).all()  # a sport with no clips at all


def test_saved_index_loads_with_the_same_results_and_leaves_no_temp_files(gallery, tmp_path: Path):
    ids, sports, vectors = gallery
    index = ClipIndex.build(ids, sports, vectors)
    saved = index.save(tmp_path / "method" / "v1.faiss")
    assert sorted(p.name for p in saved.path.parent.iterdir()) == ["v1.faiss", "v1.faiss.meta.npz"]
    loaded = ClipIndex.load(saved.path)
    queries = queries_for(5)
    for got, want in zip(loaded.search(queries, K), index.search(queries, K), strict=True):
        np.testing.assert_array_equal(got, want)
    assert saved.sha256 == index.save(tmp_path / "again.faiss").sha256  # same content, same checksum


def test_hnsw_index_finds_the_exact_neighbours_of_stored_vectors(gallery):
    ids, sports, vectors = gallery
    index = ClipIndex.build(ids, sports, vectors, kind="hnsw", hnsw_m=16)
    assert index.kind == "hnsw"
    _, found = index.search(vectors[:50], 1, ef_search=64)
    np.testing.assert_array_equal(found[:, 0], ids[:50])
    # Per-sport search stays exact on an HNSW index: it scans the sport's block of the flat storage.
    queries = queries_for(6, n=3)
    _, restricted = index.search(queries, K, sports=np.array([2, 2, 2]))
    mine = sports == 2
    np.testing.assert_array_equal(restricted, brute_force(vectors[mine], ids[mine], queries, K)[1])


def test_rows_for_ids_finds_stored_clips_and_reports_missing_ones(gallery):
    ids, sports, vectors = gallery
    index = ClipIndex.build(ids, sports, vectors)
    rows = index.rows_for_ids(np.array([ids[10], -4, ids[0]]))
    assert rows[1] == -1
    np.testing.assert_array_equal(index.vectors[rows[[0, 2]]], vectors[[10, 0]])


def test_it_rejects_a_clip_indexed_twice(gallery):
    ids, sports, vectors = gallery
    ids = ids.copy()
    ids[1] = ids[0]
    with pytest.raises(ValueError, match="twice"):
        ClipIndex.build(ids, sports, vectors)
