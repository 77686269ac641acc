"""The two passes every manifest import makes: check everything, then write everything at once.

Every manifest kind (the gallery, the mistake queries, candidates computed
elsewhere) is a ``ManifestImport``: the commands, the API and the workers run
them alike, so a line problem reads the same (``LINE: FIELD: what is wrong``),
``skip_invalid`` means the same, and the 400 body is the same for each.

The first pass streams the file, checks every line (probing videos when asked)
and keeps only sets of ids. Nothing is written, so a manifest with errors costs
no cleanup, and slow probing never holds a database lock. The second pass
streams the file again and writes the valid lines in bulk batches inside one
transaction: all of it lands, or none of it does.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TextIO, TypeVar

from django.db import IntegrityError, transaction
from tqdm import tqdm

from retrieval_backend.importing.locations import VideoLocator
from retrieval_backend.importing.manifest import ManifestLine, read_lines
from retrieval_backend.importing.report import Issue, IssueLog, RejectedLines, rejected_path_for
from retrieval_backend.importing.videos import ProbeMode, VideoProbes

Entry = TypeVar("Entry")
# Lines checked or written together: one round of lookups per batch, not per line.
DEFAULT_BATCH_LINES = 500
# Rows per INSERT/UPDATE statement; SQLite and PostgreSQL both take this many comfortably.
WRITE_BATCH_ROWS = 1000


@dataclass
class ImportOptions:
    probe: str = ProbeMode.SYNC
    skip_invalid: bool = False
    probe_timeout_s: float = 60.0
    allowed_roots: list[Path] = field(default_factory=list)
    allowed_url_prefixes: list[str] = field(default_factory=list)
    batch_lines: int = DEFAULT_BATCH_LINES
    progress_file: TextIO | None = None
    # Candidate files only: create the retrieval methods they name that do not exist yet.
    create_methods: bool = False
    # Called (at most every PROGRESS_EVERY_S) while the manifest is checked, with (lines read, bytes read,
    # file size): a worker's import job shows it, since checking with probe=sync can take hours at scale.
    on_check_progress: Callable[[int, int, int], None] | None = None


PROGRESS_EVERY_S = 2.0


class ImportFailed(Exception):
    """The manifest has problems and nothing was imported; ``issues`` lists them by line."""

    def __init__(self, message: str, issues: IssueLog | None = None) -> None:
        super().__init__(message)
        self.issues = issues


class ImportConflict(Exception):
    """The database changed between the check and the write so that a line no longer fits."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(str(issue))
        self.issue = issue


@dataclass
class ImportResult:
    counts: dict[str, int]
    rejected: int = 0
    rejected_path: Path | None = None
    job_id: int | None = None
    # Lines of the file, blank ones included, as the researcher's editor numbers them.
    lines: int = 0


class ManifestImport(abc.ABC, Generic[Entry]):
    """Base of every manifest importer: streaming, batching, the two passes, the rejected file.

    A kind supplies what differs: how a line is read (``parse``), what it is
    checked against (``check_batch``), how it is written (``write_batch``), the
    options a request may set (``request_options``) and what the import did
    (``outcome``).
    """

    what = "lines"
    # The fields of an API request (``retrieval_backend.importing.uploaded.ManifestRequest``) this kind reads;
    # a worker's job shows them as its parameters. Video manifests probe and resolve paths.
    request_options: tuple[str, ...] = ("probe", "skip_invalid", "base_dir")

    def __init__(self, path: Path, options: ImportOptions) -> None:
        self.path = Path(path).absolute()
        self.locator = VideoLocator(self.path.parent.resolve(), options.allowed_roots, options.allowed_url_prefixes)
        self.options = options
        self.issues = IssueLog()
        self.probes = VideoProbes(options.probe_timeout_s)
        self.counts: dict[str, int] = {}
        self._lines_read = 0
        # How what the import creates names its file (an imported method's description, say): a spooled
        # upload's or standard input's file name would mean nothing to the researcher, so callers may say more.
        self.source_name = self.path.name

    @abc.abstractmethod
    def parse(self, line: ManifestLine) -> tuple[Entry | None, list[Issue]]:
        """Check one line's fields, without the database."""

    @abc.abstractmethod
    def check_batch(self, entries: list[Entry]) -> None:
        """First pass: add to ``self.issues`` what is wrong with these entries (files, duplicates, database)."""

    @abc.abstractmethod
    def before_write(self) -> None:
        """Second pass, inside the transaction, before the first batch (create sports, say)."""

    @abc.abstractmethod
    def write_batch(self, entries: list[Entry]) -> None:
        """Second pass: write these valid entries in bulk; raise ``ImportConflict`` if one no longer fits."""

    def after_write(self) -> int | None:
        """Inside the transaction, after the last batch; may queue a job and return its id."""
        return None

    def outcome(self, result: ImportResult) -> dict[str, Any]:
        """What the import did, as the API answers it and an import job keeps it (the rejected lines come apart).

        Video manifests: the counts and the job probing the new videos, if ``after_write`` queued one.
        """
        return {"counts": dict(result.counts), "probe_job": result.job_id}

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def fail(self, line: int, field: str, message: str) -> None:
        self.issues.add(line, field, message)

    def check(self) -> IssueLog:
        """The first pass alone: every problem of every line, by line; nothing is written."""
        if not self.path.exists():
            raise ImportFailed(f"there is no manifest file at {self.path}")
        if not self.path.is_file():
            raise ImportFailed(f"{self.path} is not a regular file (a folder, a pipe or a device): give a JSONL file")
        checking = "checking and probing" if self.options.probe == ProbeMode.SYNC else "checking"
        for entries in self._batches(checking, first_pass=True):
            self.check_batch(entries)
        return self.issues

    def run(self) -> ImportResult:
        self.check()
        if self.issues and not self.options.skip_invalid:
            raise ImportFailed(self._failure_message(), self.issues)
        try:
            with transaction.atomic():
                result = self._write_pass()
                result.job_id = self.after_write()
        except ImportConflict as exc:
            raise ImportFailed(
                f"{exc.issue}\nThe database changed while the manifest was being checked; nothing was "
                "imported. Run the import again."
            ) from None
        except IntegrityError as exc:
            raise ImportFailed(
                f"the database refused the import ({exc}); nothing was imported. Another import may have "
                "run at the same time: run this one again."
            ) from None
        result.counts = dict(self.counts)
        return result

    def _write_pass(self) -> ImportResult:
        result = ImportResult(counts={})
        rejected = RejectedLines(rejected_path_for(self.path)) if self.options.skip_invalid else None
        try:
            self.before_write()
            for entries in self._batches("importing", first_pass=False, rejected=rejected):
                self.write_batch(entries)
        finally:
            if rejected is not None:
                rejected.close()
        if rejected is not None:
            result.rejected = rejected.count
            result.rejected_path = rejected.path
        result.lines = self._lines_read
        return result

    def _batches(
        self, description: str, *, first_pass: bool, rejected: RejectedLines | None = None
    ) -> Iterator[list[Entry]]:
        """Stream the manifest in batches of parsed entries.

        In the first pass every entry comes out and its field problems are logged. In
        the second, lines with problems are left out (and written to ``rejected``).
        """
        size = self.path.stat().st_size
        batch: list[Entry] = []
        progress = self.options.progress_file
        with tqdm(
            total=size,
            desc=description,
            unit="B",
            unit_scale=True,
            file=progress,
            disable=progress is None,
            leave=False,
        ) as bar:
            read, reported = 0, time.monotonic()
            report = self.options.on_check_progress if first_pass else None
            for line in read_lines(self.path):
                self._lines_read = line.number
                bar.update(line.size)
                read += line.size
                if report is not None and time.monotonic() - reported >= PROGRESS_EVERY_S:
                    report(line.number, read, size)
                    reported = time.monotonic()
                if line.blank:
                    continue
                entry, issues = self.parse(line)
                if first_pass:
                    self.issues.extend(issues)
                elif line.number in self.issues:
                    if rejected is not None:
                        rejected.write(line.number, line.data, line.text, self.issues.for_line(line.number))
                    continue
                elif issues:
                    raise ImportFailed(
                        f"{issues[0]}\nThe manifest changed while it was being imported; nothing was imported. "
                        "Run the import again once the file is final."
                    )
                if entry is None:
                    continue
                batch.append(entry)
                if len(batch) >= self.options.batch_lines:
                    yield batch
                    batch = []
            if batch:
                yield batch

    def _failure_message(self) -> str:
        hint = (
            f"Fix them and import again, or pass --skip-invalid to import the valid {self.what} and write "
            f"the rejected ones with their reasons to {rejected_path_for(self.path)}."
        )
        return (
            f"{len(self.issues)} problem(s) on {self.issues.line_count} line(s) of {self.path}; "
            f"nothing was imported.\n{self.issues.format()}\n{hint}"
        )


def seconds(value: Any) -> str:
    """A time as the researcher wrote it: ``19.0``, ``12.5``."""
    return repr(float(value))
