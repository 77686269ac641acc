"""Removing embedding files nothing needs any more, so rebuilds at gallery scale don't fill the disk.

A method's build at SportSkills scale writes about 1.3 GB of ``.npy`` shards and
a 1.3 GB index (630,000 clips x 512 float32). What goes, once it is older than a
grace period (``INDEX_PRUNE_GRACE_HOURS``, default 24, so a worker that read the
old row a moment ago still finds its file):

- the index files of superseded (``stale``) builds; their rows stay, with the
  path cleared and a note, as the record of what was built;
- the shards of finished builds (``ready`` or ``stale``): the index holds their
  vectors, and the next incremental build starts from the index;
- the shards and files of ``failed`` builds once a newer build of the method is
  ready (a failed build that is still the newest keeps its shards: resuming its
  job reuses them);
- folders and files under the two roots that no build row names (a deleted
  method, a deleted row).

Nothing outside ``EMBEDDING_ROOT`` and ``INDEX_ROOT`` is touched. Beat runs it
every six hours; ``manage.py prune_indexes --dry-run`` shows what would go.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from retrieval_backend.models import EmbeddingIndex
from retrieval_backend.search import meta_path_for

logger = logging.getLogger(__name__)


@dataclass
class PruneReport:
    removed: list[tuple[Path, int]] = field(default_factory=list)  # (path, bytes)
    indexes_pruned: int = 0
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(size for _, size in self.removed)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size if path.exists() else 0


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve()) and path.resolve() != root.resolve()
    except OSError:
        return False


def _remove(path: Path, root: Path, report: PruneReport) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if not _inside(path, root):
        logger.warning("not pruning %s: it is outside %s", path, root)
        return
    size = _size(path)
    if not report.dry_run:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    report.removed.append((path, size))


def _shard_folder(row: EmbeddingIndex) -> Path:
    return Path(settings.EMBEDDING_ROOT) / row.method.name / row.version


def prune_index_files(*, grace: timedelta | None = None, dry_run: bool = False) -> PruneReport:
    """Remove what the module docstring lists; returns what was (or, dry, would be) removed."""
    if grace is None:
        grace = timedelta(hours=settings.INDEX_PRUNE_GRACE_HOURS)
    cutoff = timezone.now() - grace
    index_root, shard_root = Path(settings.INDEX_ROOT), Path(settings.EMBEDDING_ROOT)
    report = PruneReport(dry_run=dry_run)
    rows = EmbeddingIndex.objects.select_related("method")
    newest_ready = {}
    for method_id, pk in rows.filter(status=EmbeddingIndex.Status.READY).values_list("method_id", "pk"):
        newest_ready[method_id] = max(pk, newest_ready.get(method_id, 0))

    for row in rows.filter(updated__lt=cutoff).exclude(status=EmbeddingIndex.Status.BUILDING).iterator():
        superseded_failure = row.status == EmbeddingIndex.Status.FAILED and newest_ready.get(row.method_id, 0) > row.pk
        if row.status in (EmbeddingIndex.Status.READY, EmbeddingIndex.Status.STALE) or superseded_failure:
            _remove(_shard_folder(row), shard_root, report)
        if (row.status == EmbeddingIndex.Status.STALE or superseded_failure) and row.path:
            path = Path(row.path)
            _remove(path, index_root, report)
            _remove(meta_path_for(path), index_root, report)
            if not dry_run:
                note = f"files removed by prune_indexes on {timezone.now():%Y-%m-%d %H:%M} UTC"
                EmbeddingIndex.objects.filter(pk=row.pk).update(path="", error=(row.error + "; " + note).lstrip("; "))
            report.indexes_pruned += 1

    _remove_orphans(index_root, shard_root, cutoff.timestamp(), report)
    if report.removed:
        verb = "would free" if dry_run else "freed"
        logger.info("prune_index_files %s %.1f MB in %d paths", verb, report.bytes_freed / 1e6, len(report.removed))
    return report


def _remove_orphans(index_root: Path, shard_root: Path, cutoff_ts: float, report: PruneReport) -> None:
    """Folders and files under the roots that no build row names, older than the cutoff."""
    known_paths = {Path(p).resolve() for p in EmbeddingIndex.objects.exclude(path="").values_list("path", flat=True)}
    known_index_files = known_paths | {meta_path_for(p) for p in known_paths}
    known_shard_folders = {
        (shard_root / method / version).resolve()
        for method, version in EmbeddingIndex.objects.values_list("method__name", "version")
    }

    def old(path: Path) -> bool:
        try:
            return path.stat().st_mtime < cutoff_ts
        except OSError:
            return False

    if shard_root.is_dir():
        for method_folder in shard_root.iterdir():
            if not method_folder.is_dir():
                continue
            for folder in method_folder.iterdir():
                if folder.resolve() not in known_shard_folders and old(folder):
                    _remove(folder, shard_root, report)
    if index_root.is_dir():
        for method_folder in index_root.iterdir():
            if not method_folder.is_dir():
                continue
            for path in method_folder.iterdir():
                # Temp files of a save that died are orphans too (named ".<name>.<pid>.tmp...").
                if path.is_file() and path.resolve() not in known_index_files and old(path):
                    _remove(path, index_root, report)
