"""An uploaded manifest, of any kind, imported as its command would import it: in a request or on a worker.

The API receives the file (``retrieval_backend.api.uploads``) and decides where
it runs; this module runs it, the same way in both places, and words the
outcome: the problems by line, the summary of a failure, what was imported.
What differs between the gallery, the queries and candidate files comes from
their importer class, never from a test on the kind here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from django.conf import settings

from retrieval_backend.candidates.importing import CandidateImport
from retrieval_backend.importing.gallery import GalleryImport
from retrieval_backend.importing.importer import ImportOptions, ImportResult, ManifestImport
from retrieval_backend.importing.locations import LocationError, VideoLocation, VideoLocator
from retrieval_backend.importing.queries import QueryImport
from retrieval_backend.importing.report import SHOWN_ISSUES, IssueLog, rejected_path_for
from retrieval_backend.importing.videos import ProbeMode

# The manifest kinds, by the name the API and the import jobs (``import_<kind>``) use.
IMPORTERS: dict[str, type[ManifestImport]] = {
    "gallery": GalleryImport,
    "queries": QueryImport,
    "candidates": CandidateImport,
}
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass
class ManifestRequest:
    """What the researcher asked for: which kind, whether to skip bad lines, and the kind's own options.

    ``probe`` is ``none`` unless asked: a kind without videos never probes, and the
    video manifests' parameters default it to ``sync`` themselves.
    """

    kind: str
    skip_invalid: bool = False
    probe: str = ProbeMode.NONE
    base_dir: str | None = None
    create_methods: bool = False

    @property
    def importer_class(self) -> type[ManifestImport]:
        return IMPORTERS[self.kind]

    @property
    def job_kind(self) -> str:
        return f"import_{self.kind}"

    def as_params(self) -> dict[str, Any]:
        """The options this kind reads, as an import job records them."""
        return {name: getattr(self, name) for name in self.importer_class.request_options}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ManifestRequest:
        """The request an import job's chunk carries (``{"kind": ..., **as_params()}``)."""
        known = {f.name for f in fields(cls)}
        return cls(**{name: value for name, value in payload.items() if name in known})


class _UploadLocator(VideoLocator):
    """Video paths of an uploaded manifest: absolute, URLs, or relative to the ``base_dir`` the request named.

    An uploaded manifest has no folder of its own, so a relative path without
    ``base_dir`` is an error rather than a path into the upload folder.
    """

    def __init__(self, base_dir: str | None, allowed_roots: list[Path], allowed_url_prefixes: list[str]) -> None:
        super().__init__(Path(base_dir or "/"), allowed_roots, allowed_url_prefixes)
        self.has_base_dir = base_dir is not None

    def locate(self, value: str) -> VideoLocation:
        if not self.has_base_dir and not _URL.match(value) and not os.path.isabs(value):
            raise LocationError(
                f"{value[:60]!r} is a relative path, and an uploaded manifest has no folder: pass "
                "base_dir=/the/folder/it/is/relative/to, or write absolute paths or http(s) URLs"
            )
        return super().locate(value)


def importer_for(
    path: Path, request: ManifestRequest, on_check_progress: Callable[[int, int, int], None] | None = None
) -> ManifestImport:
    """The kind's importer for an uploaded file, with the settings the commands use."""
    options = ImportOptions(
        on_check_progress=on_check_progress,
        probe=request.probe,
        skip_invalid=request.skip_invalid,
        create_methods=request.create_methods,
        probe_timeout_s=float(settings.VIDEO_PROBE_TIMEOUT_S),
        allowed_roots=list(settings.VIDEO_ALLOWED_ROOTS),
        allowed_url_prefixes=list(settings.VIDEO_ALLOWED_URL_PREFIXES),
    )
    importer = request.importer_class(path, options)
    importer.locator = _UploadLocator(request.base_dir, options.allowed_roots, options.allowed_url_prefixes)
    importer.source_name = "an API upload"
    return importer


def precheck(path: Path, request: ManifestRequest) -> IssueLog:
    """Every problem a line has without probing its video (fields, paths, duplicates); nothing is written."""
    return importer_for(path, replace(request, probe=ProbeMode.NONE)).check()


def run_import(
    path: Path, request: ManifestRequest, on_check_progress: Callable[[int, int, int], None] | None = None
) -> tuple[ManifestImport, ImportResult]:
    """Import the manifest at ``path`` as the command would; ``ImportFailed`` when nothing was imported."""
    importer = importer_for(path, request, on_check_progress)
    try:
        result = importer.run()
    finally:
        # The command writes rejected lines next to the manifest; the API returns them in the response instead.
        rejected_path_for(path).unlink(missing_ok=True)
    return importer, result


def problems(issues: IssueLog | None, limit: int = SHOWN_ISSUES) -> list[dict[str, Any]]:
    """The first ``limit`` problems in file order, as ``{"line", "field", "message"}``."""
    found: list[dict[str, Any]] = []
    for issue in issues or ():
        if len(found) == limit:
            break
        found.append({"line": issue.line, "field": issue.field, "message": issue.message})
    return found


def failure_summary(issues: IssueLog) -> str:
    return (
        f"{len(issues)} problem(s) on {issues.line_count} line(s) of the manifest; nothing was imported. "
        "Fix them and send it again, or pass skip_invalid=true to import the valid lines."
    )


def nothing_imported(importer: ManifestImport, result: ImportResult) -> str:
    """Why an import that went through found nothing to import (only blank lines), as the commands say it; or ""."""
    if any(result.counts.values()) or result.rejected:
        return ""
    return f"the manifest holds no {importer.what} (it is empty or has only blank lines); nothing was imported."


def result_body(importer: ManifestImport, result: ImportResult) -> dict[str, Any]:
    """What the import did (the kind's ``outcome``) and, with ``skip_invalid``, the lines it left out and why."""
    return {
        **importer.outcome(result),
        "rejected": result.rejected,
        "problems": problems(importer.issues) if result.rejected else [],
    }
