"""What went wrong in a manifest, line by line, and the file of rejected lines.

A researcher fixing a 100k-line manifest wants every problem at once, in file
order, each pointing at the line and the field to edit: ``12: clips[0].end: ...``.
Plain Python, no Django import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

# How many problems a failed import prints; the rest are counted, and --skip-invalid writes them all.
SHOWN_ISSUES = 1000


@dataclass(frozen=True, order=True)
class Issue:
    """One problem: the manifest line (1-based), the field in it (``clips[0].end``), what is wrong."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}: {self.field}: {self.message}"


class IssueLog:
    """Every problem found in a manifest, kept by line so they can be reported in file order."""

    def __init__(self) -> None:
        self._by_line: dict[int, list[Issue]] = {}
        self._count = 0

    def add(self, line: int, field: str, message: str) -> None:
        self._by_line.setdefault(line, []).append(Issue(line, field, message))
        self._count += 1

    def extend(self, issues: list[Issue]) -> None:
        for issue in issues:
            self._by_line.setdefault(issue.line, []).append(issue)
        self._count += len(issues)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __contains__(self, line: int) -> bool:
        return line in self._by_line

    @property
    def line_count(self) -> int:
        return len(self._by_line)

    def for_line(self, line: int) -> list[Issue]:
        return self._by_line.get(line, [])

    def __iter__(self) -> Iterator[Issue]:
        """Issues sorted by line; within a line, in the order they were found (field order)."""
        for line in sorted(self._by_line):
            yield from self._by_line[line]

    def format(self, limit: int = SHOWN_ISSUES) -> str:
        lines = []
        for shown, issue in enumerate(self):
            if shown == limit:
                lines.append(f"... and {self._count - limit} more")
                break
            lines.append(str(issue))
        return "\n".join(lines)


class RejectedLines:
    """Writes each rejected manifest line, as the original object plus an ``errors`` list, to a JSONL file.

    Lines that were not JSON objects are kept as ``{"line": N, "text": "...", "errors": [...]}``
    so nothing the researcher wrote is lost.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        # Opened (and so emptied) at once: a file left by an earlier run must not pass for this run's.
        # backslashreplace writes half a surrogate pair as its JSON escape (\ud83d), so such a line is kept too.
        self._handle: TextIO | None = open(  # noqa: SIM115 - closed by close()
            path, "w", encoding="utf-8", errors="backslashreplace"
        )

    def __enter__(self) -> RejectedLines:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, line: int, original: Any, text: str, issues: list[Issue]) -> None:
        assert self._handle is not None, "write after close"
        errors = [str(issue) for issue in issues]
        if isinstance(original, dict):
            row = {**original, "errors": errors}
        else:
            row = {"line": line, "text": text, "errors": errors}
        # allow_nan=False would fail on the very lines we reject for NaN; json writes them as NaN tokens.
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def rejected_path_for(manifest: Path) -> Path:
    """``gallery.jsonl`` -> ``gallery.rejected.jsonl``, next to the input."""
    return manifest.with_name(f"{manifest.stem}.rejected{manifest.suffix or '.jsonl'}")
