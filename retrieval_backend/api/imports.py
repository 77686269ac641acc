"""Where an uploaded manifest is imported: during the request, or by a worker; and how its problems are answered.

The checks, the all-or-nothing rule and ``skip_invalid`` are those of the
commands (``retrieval_backend.importing``), for every manifest kind. What the
API decides is where the work runs. A small manifest that needs no probing here
is imported during the request: seconds at most. Anything bigger, or one asking
for ``probe=sync`` (a probe can take seconds per video), is imported by a worker
from the uploaded file (``retrieval_backend.importing.upload_jobs``), and the
request answers at once with the job to poll; a web process is never held for
minutes.
"""

from __future__ import annotations

from typing import Any

from retrieval_backend.importing.uploaded import ManifestRequest
from retrieval_backend.importing.videos import ProbeMode

# Inline imports: up to this many bytes (about 3,500 clips: a few seconds at most) and no probing in the request.
INLINE_MAX_BYTES = 512 << 10


def runs_inline(size: int, request: ManifestRequest) -> bool:
    return request.probe != ProbeMode.SYNC and size <= INLINE_MAX_BYTES


def prechecks_inline(size: int, request: ManifestRequest) -> bool:
    """A small manifest left to a worker for probing is checked here first, so its line problems come back now."""
    return not request.skip_invalid and size <= INLINE_MAX_BYTES


def by_line(found: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Problems grouped by line, as the API's error format has them: ``{"12": ["clips[0].end: ..."]}``."""
    grouped: dict[str, list[str]] = {}
    for problem in found:
        grouped.setdefault(str(problem["line"]), []).append(f"{problem['field']}: {problem['message']}")
    return grouped
