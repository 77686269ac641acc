"""Write a study's dataset bundle to a folder or a zip: complete, deterministic, and never half there.

The bundle is written into a staging folder beside the destination and moved into place with one
``os.replace`` once every file is complete, so a process killed half-way leaves only a
``.NAME.partial-*`` folder that nothing offers (and ``remove_stale_partials`` clears). The same
judgements give the same bytes: rows sorted, columns fixed, Parquet options fixed, zip entries
sorted with a fixed date, and no generation time anywhere; the manifest's ``generated`` field is
the time of the last change to the data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.db import DatabaseError, connections
from django.db.models import Count, Max, Q

from annotations.models import Judgement, StudyReport
from annotations.research.export import tables
from annotations.research.export.card import dataset_card
from annotations.research.export.judgement_table import judgement_batches
from annotations.research.export.writers import Column, TableWriter
from annotations.research.results.service import DEFAULT_BOOTSTRAP, SCHEMA, describe_study, jsonable, study_results
from studies.models import Item, Study

SCHEMA_VERSION = 1
BATCH_ROWS = 20_000
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PARTIAL = ".partial-"

Progress = Callable[[int, int], None]


class ExportError(Exception):
    """A bundle that can't be written as asked, with what to do instead."""


@dataclass(frozen=True)
class BundleSummary:
    path: Path
    sha256: str  # of the zip, or of manifest.json for a folder (it lists every other file's hash)
    size_bytes: int
    judgements: int


def coachbench_version() -> str:
    try:
        return metadata.version("coachbench")
    except metadata.PackageNotFoundError:
        return "unknown"


def _dump_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_destination(out: Path) -> None:
    if out.suffix == ".zip":
        if out.exists():
            raise ExportError(f"{out} already exists: choose another file name or remove it first.")
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder: choose a new folder or a FILE.zip.")


def write_bundle(
    study: Study,
    out: Path | str,
    *,
    include_identities: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
    bootstrap: int = DEFAULT_BOOTSTRAP,
) -> BundleSummary:
    """Write the bundle to ``out``: a folder, or a zip when ``out`` ends in ``.zip``."""
    out = Path(out)
    _check_destination(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}{PARTIAL}", dir=out.parent))
    try:
        folder = staging / study.slug
        folder.mkdir()
        with _plans_for_whole_results(study._state.db or "default"):
            judgements = _write_folder(
                study, folder, include_identities, progress or (lambda done, total: None), batch_rows, bootstrap
            )
        if out.suffix == ".zip":
            built = staging / out.name
            _zip(folder, built, study.slug)
            os.replace(built, out)
            return BundleSummary(out, _sha256(out), out.stat().st_size, judgements)
        if out.exists():
            out.rmdir()  # empty, checked above; os.replace can't replace a folder otherwise
        os.replace(folder, out)
        size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
        return BundleSummary(out, _sha256(out / "manifest.json"), size, judgements)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def _plans_for_whole_results(alias: str) -> Iterator[None]:
    """On PostgreSQL, plan the export's cursors for reading every row, as it does.

    Rows are streamed through server-side cursors, which PostgreSQL plans for a fast first tenth of
    the result (``cursor_tuple_fraction`` 0.1). With the statistics of a freshly filled items table
    that chose a nested loop rescanning every item of the study for each query of the queries table:
    28 s of a million-judgement export, for 3,700 rows.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET cursor_tuple_fraction = 1.0")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET cursor_tuple_fraction")
        except DatabaseError:
            pass  # the connection is broken: the setting went with it, and the export's own error is the one to see


def _write_folder(
    study: Study, folder: Path, include_identities: bool, progress: Progress, batch_rows: int, bootstrap: int
) -> int:
    n_judgements = Judgement.objects.filter(study=study).count()
    total = n_judgements + Item.objects.filter(study=study).count()
    done = 0
    progress(done, total)
    # The results first, while nothing else is held: their arrays are the largest thing an export
    # builds, and once they are reduced to figures the tables are streamed in what memory is left.
    results = current_report(study, bootstrap) or jsonable(study_results(study, bootstrap=bootstrap))
    names = tables.method_names()

    def report(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done, total)

    written: dict[str, tuple[Sequence[Column], int]] = {}
    judgement_writer = TableWriter(folder, "judgements", tables.JUDGEMENT_COLUMNS)
    item_writer = TableWriter(folder, "items", tables.ITEM_COLUMNS)

    def write_items(batch: pa.RecordBatch) -> None:
        item_writer.write_batch(batch.drop_columns(["item_id"]))
        report(batch.num_rows)

    try:
        for batch in judgement_batches(study, names, batch_rows, write_items):
            judgement_writer.write_batch(batch)
            report(batch.num_rows)
    finally:
        judgement_writer.close()
        item_writer.close()
    written["judgements"] = (judgement_writer.columns, judgement_writer.rows)
    written["items"] = (item_writer.columns, item_writer.rows)

    coach_columns = tables.COACH_COLUMNS + (tables.IDENTITY_COLUMNS if include_identities else [])
    small: list[tuple[str, Sequence[Column], Iterable[tuple]]] = [
        ("queries", tables.QUERY_COLUMNS, tables.query_rows(study)),
        ("clips", tables.CLIP_COLUMNS, tables.clip_rows(study)),
        ("coaches", coach_columns, tables.coach_rows(study, include_identities=include_identities)),
        ("methods", tables.METHOD_COLUMNS, tables.method_rows(study)),
        ("identical_pairs", tables.IDENTICAL_COLUMNS, tables.identical_rows(study)),
    ]
    for name, columns, rows in small:
        writer = TableWriter(folder, name, columns)
        try:
            for batch in tables.batched(iter(rows), batch_rows):
                writer.write(batch)
        finally:
            writer.close()
        written[name] = (columns, writer.rows)

    (folder / "results.json").write_text(_dump_json(results), encoding="utf-8")
    agreement = {"study": results["study"], "counts": results["counts"], **results["agreement"]}
    (folder / "agreement.json").write_text(_dump_json(agreement), encoding="utf-8")
    _write_leaderboard(folder / "leaderboard.csv", results["leaderboard"])
    version = coachbench_version()
    card = dataset_card(results, written, include_identities=include_identities, coachbench_version=version)
    (folder / "README.md").write_text(card, encoding="utf-8")
    _write_manifest(folder, study, results, written, include_identities, version)
    return n_judgements


def current_report(study: Study, bootstrap: int) -> dict[str, Any] | None:
    """The cached report's results if they were computed from exactly the judgements there are now.

    A million judgements take the results service several seconds; a report the worker keeps
    current gives the same numbers (same code, same seeded bootstraps), so the bundle is the same
    bytes either way. Current means: not marked stale, and the same number of judgements and flags
    and the same time of the last change as the judgements table has now.
    """
    if bootstrap != DEFAULT_BOOTSTRAP:
        return None
    report = StudyReport.objects.filter(study=study, dirty=False, computed__isnull=False).first()
    if report is None or report.data.get("schema") != SCHEMA:
        return None
    now = Judgement.objects.filter(study=study).aggregate(
        judgements=Count("id"), flagged=Count("id", filter=~Q(flag="")), created=Max("created"), revised=Max("revised")
    )
    last = max((t for t in (now["created"], now["revised"]) if t is not None), default=None)
    counts = report.data.get("counts", {})
    if (counts.get("judgements"), counts.get("flagged"), counts.get("last_change")) != (
        now["judgements"],
        now["flagged"],
        last.isoformat() if last else None,
    ):
        return None
    # The design part is read fresh: the study's status may have moved on since.
    return {**report.data, "study": jsonable(describe_study(study))}


def _write_leaderboard(path: Path, board: dict[str, Any]) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            ["position", "method", "log_strength", "ci95_low", "ci95_high", "wins", "losses", "ties", "neither"]
        )
        for position, row in enumerate(board.get("methods", []), 1):
            low, high = row["ci95"] if row["ci95"] else ("", "")
            writer.writerow(
                [
                    position,
                    row["method"],
                    row["log_strength"],
                    low,
                    high,
                    row["wins"],
                    row["losses"],
                    row["ties"],
                    row["neither"],
                ]
            )


def _write_manifest(
    folder: Path,
    study: Study,
    results: dict[str, Any],
    written: dict[str, tuple[Sequence[Column], int]],
    include_identities: bool,
    version: str,
) -> None:
    rows_of = {
        f"{fmt}/{name}.{fmt}": rows for name, (_, rows) in written.items() for fmt in ("parquet", "csv", "jsonl")
    }
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        entry: dict[str, Any] = {"path": relative, "bytes": path.stat().st_size, "sha256": _sha256(path)}
        if relative in rows_of:
            entry["rows"] = rows_of[relative]
        files.append(entry)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "coachbench_version": version,
        "study": study.slug,
        "generated": results["counts"]["last_change"],
        "include_identities": include_identities,
        "files": files,
    }
    (folder / "manifest.json").write_text(_dump_json(manifest), encoding="utf-8")


def _zip(folder: Path, target: Path, prefix: str) -> None:
    """Zip ``folder`` under ``prefix/`` with sorted entries and fixed dates and modes; Parquet is stored as is."""
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{prefix}/{path.relative_to(folder).as_posix()}", date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            # Parquet columns are already zstd-compressed: deflating them again costs time for nothing.
            info.compress_type = zipfile.ZIP_STORED if path.suffix == ".parquet" else zipfile.ZIP_DEFLATED
            # Level 1: these texts shrink nearly as much as at the default 6, several times faster. (An entry
            # given as a ZipInfo keeps its own level; Python 3.11 has no public name for it.)
            info._compresslevel = 1
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target_entry:
                shutil.copyfileobj(source, target_entry, 1 << 20)


def remove_stale_partials(folder: Path, *, older_than_s: float = 24 * 3600) -> int:
    """Delete staging folders left by exports killed half-way. Returns how many were removed."""
    if not folder.is_dir():
        return 0
    removed = 0
    cutoff = time.time() - older_than_s
    for path in folder.rglob(f".*{PARTIAL}*"):
        if path.is_dir() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed
