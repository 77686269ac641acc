"""Pruning embedding files: superseded builds and finished shards go, what a worker may still need stays."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from retrieval_backend.models import EmbeddingIndex, RetrievalMethod
from retrieval_backend.pruning import prune_index_files
from retrieval_backend.ranking import rank_queries
from retrieval_backend.search import meta_path_for
from tests.factories import RetrievalMethodFactory
from tests.retrieval_backend.test_embedding_job import Gallery, build_in_process

PARAMS = {"frames": 4, "chunk_size": 2}


@pytest.fixture
def gallery_in_transaction(db, make_video) -> Gallery:
    return Gallery(make_video)


def _age(row: EmbeddingIndex, hours: float) -> None:
    EmbeddingIndex.objects.filter(pk=row.pk).update(updated=timezone.now() - timedelta(hours=hours))


def _shards(row: EmbeddingIndex) -> Path:
    return Path(settings.EMBEDDING_ROOT) / row.method.name / row.version


def _superseded_pair(gallery) -> tuple[RetrievalMethod, EmbeddingIndex, EmbeddingIndex]:
    method = RetrievalMethodFactory(name="visual", backend="visual", params=PARAMS)
    first = build_in_process(method)
    gallery.toss.delete()  # a removed clip forces a rebuild: the first build is superseded
    second = build_in_process(method)
    first.refresh_from_db()
    assert (first.status, second.status) == (EmbeddingIndex.Status.STALE, EmbeddingIndex.Status.READY)
    return method, first, second


def test_a_superseded_build_and_finished_shards_are_removed_after_the_grace_period(gallery_in_transaction):
    gallery = gallery_in_transaction
    method, first, second = _superseded_pair(gallery)
    old_index, old_meta = Path(first.path), meta_path_for(Path(first.path))
    assert old_index.exists()
    assert _shards(first).is_dir()
    assert _shards(second).is_dir()
    ranked_before = rank_queries(method, gallery.queries, k=3)

    # Within the grace period nothing goes: a worker may have read the old row a moment ago.
    assert prune_index_files().removed == []
    assert old_index.exists()

    _age(first, 25)
    _age(second, 25)
    report = prune_index_files()
    removed = {path for path, _ in report.removed}
    assert removed == {old_index, old_meta, _shards(first), _shards(second)}
    assert report.bytes_freed > 0
    assert report.indexes_pruned == 1
    assert not old_index.exists()
    assert not _shards(first).exists()
    assert not _shards(second).exists()
    first.refresh_from_db()
    assert first.path == ""
    assert "files removed by prune_indexes" in first.error
    # The ready index is untouched and still answers, identically.
    assert Path(second.path).exists()
    assert meta_path_for(Path(second.path)).exists()
    assert rank_queries(method, gallery.queries, k=3) == ranked_before
    assert prune_index_files().removed == []  # nothing left to do


def test_a_dry_run_lists_and_removes_nothing(gallery_in_transaction):
    _, first, second = _superseded_pair(gallery_in_transaction)
    out = StringIO()
    call_command("prune_indexes", "--grace-hours", "0", "--dry-run", stdout=out)
    assert f"would remove {first.path}" in out.getvalue()
    assert "would free" in out.getvalue()
    assert Path(first.path).exists()
    assert _shards(first).is_dir()
    assert _shards(second).is_dir()
    first.refresh_from_db()
    assert first.path  # the row still names its file


def test_the_shards_of_a_failed_build_stay_while_it_can_be_resumed(gallery_in_transaction):
    method = RetrievalMethodFactory(name="visual", backend="visual", params=PARAMS)
    ready = build_in_process(method)
    gallery_in_transaction.toss.delete()
    failed = build_in_process(method)
    # Say its assembly failed: it is the newest build, and resuming its job would reuse the shards.
    EmbeddingIndex.objects.filter(pk=failed.pk).update(status=EmbeddingIndex.Status.FAILED, path="")
    EmbeddingIndex.objects.filter(pk=ready.pk).update(status=EmbeddingIndex.Status.READY)
    _age(failed, 48)
    _age(ready, 48)
    removed = {path for path, _ in prune_index_files().removed}
    assert _shards(failed).is_dir()
    assert _shards(failed) not in removed
    assert _shards(ready) in removed  # the ready build's own shards are in its index already
    assert Path(ready.path).exists()


def test_files_no_build_names_are_removed_once_old(gallery_in_transaction):
    method = RetrievalMethodFactory(name="visual", backend="visual", params=PARAMS)
    kept = build_in_process(method)
    orphan_shards = Path(settings.EMBEDDING_ROOT) / "deleted-method" / "v1.1"
    orphan_shards.mkdir(parents=True)
    (orphan_shards / "chunk-000000.npy").write_bytes(b"x" * 1000)
    orphan_index = Path(settings.INDEX_ROOT) / "deleted-method" / "v1.1.faiss"
    orphan_index.parent.mkdir(parents=True)
    orphan_index.write_bytes(b"y" * 2000)
    dead_temp = Path(kept.path).with_name(f".{Path(kept.path).name}.4242.tmp")
    dead_temp.write_bytes(b"z" * 10)
    fresh = Path(settings.INDEX_ROOT) / "deleted-method" / "just-written.faiss"
    fresh.write_bytes(b"new")
    old = time.time() - 30 * 3600
    for path in (orphan_shards, orphan_index, dead_temp):
        os.utime(path, (old, old))
    removed = {path for path, _ in prune_index_files().removed}
    assert removed == {orphan_shards, orphan_index, dead_temp}
    assert fresh.exists()
    assert Path(kept.path).exists()
    assert _shards(kept).is_dir()
