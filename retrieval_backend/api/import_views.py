"""The import endpoints' shared parts: manifest parameters, their schema, and the request handling.

Gallery, query and candidate files all go through ``import_manifest``: run during
the request or queued as a job (``retrieval_backend.api.imports`` decides), checked
and written by the kind's importer, and answered alike (the same 400 body).
"""

from __future__ import annotations

import os

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from core.api.errors import Conflict
from core.api.schema import ApiErrorSerializer
from core.api.serializers import JobSerializer
from retrieval_backend.api.imports import by_line, prechecks_inline, runs_inline
from retrieval_backend.api.serializers import (
    CandidateImportResultSerializer,
    ManifestErrorSerializer,
    ManifestImportResultSerializer,
)
from retrieval_backend.api.uploads import ReceivedManifest, received_manifest
from retrieval_backend.importing.importer import ImportFailed
from retrieval_backend.importing.report import IssueLog
from retrieval_backend.importing.upload_jobs import queue_import_job
from retrieval_backend.importing.uploaded import (
    ManifestRequest,
    failure_summary,
    nothing_imported,
    precheck,
    problems,
    result_body,
    run_import,
)
from retrieval_backend.importing.videos import ProbeMode

ERROR = OpenApiResponse(ApiErrorSerializer)
# Every endpoint answers these the same way (core/api/errors.py).
READ_ERRORS = {401: ERROR, 403: ERROR}
DETAIL_ERRORS = {**READ_ERRORS, 404: ERROR}
WRITE_ERRORS = {400: ERROR, **READ_ERRORS}

MANIFEST_BODY = {
    "application/x-ndjson": OpenApiTypes.BINARY,
    "multipart/form-data": inline_serializer(
        "ManifestUpload", fields={"file": serializers.FileField(help_text="The manifest, JSON Lines.")}
    ),
}


class _ManifestParams(serializers.Serializer):
    probe = serializers.ChoiceField(choices=ProbeMode.CHOICES, default=ProbeMode.SYNC)
    skip_invalid = serializers.BooleanField(default=False)
    base_dir = serializers.CharField(required=False, max_length=1024, trim_whitespace=False)

    def validate_base_dir(self, value: str) -> str:
        if "\x00" in value or not os.path.isabs(value):
            raise serializers.ValidationError("must be an absolute path on the server, e.g. /data/sportskills.")
        if not os.path.isdir(value):
            raise serializers.ValidationError(f"{value[:200]} is not a folder on the server.")
        return value


class _CandidateImportParams(serializers.Serializer):
    skip_invalid = serializers.BooleanField(default=False)
    create_methods = serializers.BooleanField(default=False)


SKIP_INVALID = OpenApiParameter(
    "skip_invalid",
    bool,
    description="Import the valid lines and list the rejected ones with their problems, instead of "
    "importing nothing when any line is wrong.",
)
MANIFEST_PARAMETERS = [
    OpenApiParameter(
        "probe",
        str,
        enum=list(ProbeMode.CHOICES),
        description="sync (default): probe each new video, checking segments against its duration, on a worker "
        "(202 and a job). none: trust the manifest; videos stay pending. async: import now, probe on workers.",
    ),
    SKIP_INVALID,
    OpenApiParameter(
        "base_dir",
        str,
        description="Absolute folder on the server that relative video paths start at (an uploaded manifest has "
        "no folder of its own). Without it, paths must be absolute or http(s) URLs.",
    ),
]


def manifest_schema(what: str, command: str):
    return extend_schema(
        summary=f"Import a {what} manifest",
        description=(
            f"The JSON Lines format of `manage.py {command}`, checked the same way. With any problem nothing is "
            "imported and the answer lists every problem by line and field (unless `skip_invalid`). Send the file "
            "as the body (Content-Type `application/x-ndjson`) or as a multipart file named `file`. A manifest of "
            "up to 512 KiB with `probe=none` or `probe=async` is imported during the request (201); a larger one, or "
            "`probe=sync`, is imported by a worker: 202 with the job to poll at `/api/v1/jobs/{id}/`, whose "
            "`errors` list the problems by line and whose `result` holds the counts. A manifest of up to 512 KiB "
            "sent with `probe=sync` is checked during the request first (all but the probing), so its line "
            "problems come back at once as a 400."
        ),
        parameters=MANIFEST_PARAMETERS,
        request=MANIFEST_BODY,
        responses={
            201: ManifestImportResultSerializer,
            202: JobSerializer,
            400: ManifestErrorSerializer,
            **READ_ERRORS,
            409: ERROR,
            413: ERROR,
            415: ERROR,
        },
    )


def _manifest_problems(issues: IssueLog) -> Response:
    """The 400 of a manifest of any kind with problems: every problem by line, and how many there are in all."""
    listed = problems(issues)
    body = {
        "detail": failure_summary(issues),
        "code": "invalid",
        "errors": by_line(listed),
        "problems": listed,
        "problem_count": len(issues),
    }
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def import_manifest(
    request: Request, kind: str, params_class: type[serializers.Serializer] = _ManifestParams
) -> Response:
    """Run or queue a manifest import of any kind; see ``retrieval_backend.api.imports``."""
    params = params_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    wanted = ManifestRequest(kind=kind, **params.validated_data)
    manifest: ReceivedManifest = received_manifest(request)
    if not runs_inline(manifest.size, wanted):
        if prechecks_inline(manifest.size, wanted):
            try:
                issues = precheck(manifest.path, wanted)
            except BaseException:
                manifest.discard()
                raise
            if issues:
                manifest.discard()
                return _manifest_problems(issues)
        return _queued(request, manifest, wanted)
    try:
        importer, result = run_import(manifest.path, wanted)
    except ImportFailed as exc:
        if not exc.issues:
            raise Conflict(str(exc)) from None
        return _manifest_problems(exc.issues)
    finally:
        manifest.discard()
    empty = nothing_imported(importer, result)
    if empty:
        raise serializers.ValidationError({"manifest": [empty]})
    return Response(result_body(importer, result), status=status.HTTP_201_CREATED)


candidate_import_schema = extend_schema(
    summary="Import candidates computed elsewhere",
    description="The JSON Lines format of `manage.py import_candidates`, one line per query and method: "
    '`{"query": "q-17", "method": "m", "clips": ["abc-1", "abc-7"], "scores": [0.91, 0.88]}`, checked the same '
    "way. Each (query, method) replaces the set stored before. With any problem nothing is imported and the "
    "answer lists every problem by line and field (unless `skip_invalid`), as for a gallery manifest. A file of "
    "up to 512 KiB is imported during the request (201); a larger one by a worker: 202 and the job to poll, "
    "whose `errors` list the problems by line and whose `result` holds the counts.",
    parameters=[
        SKIP_INVALID,
        OpenApiParameter(
            "create_methods",
            bool,
            description="Create methods the file names that do not exist yet, as `imported` methods.",
        ),
    ],
    request=MANIFEST_BODY,
    responses={
        201: CandidateImportResultSerializer,
        202: JobSerializer,
        400: ManifestErrorSerializer,
        **READ_ERRORS,
        409: ERROR,
        413: ERROR,
        415: ERROR,
    },
)


def import_candidate_file(request: Request) -> Response:
    """Check and import a candidates file (400 with every problem by line), or queue it when large."""
    return import_manifest(request, "candidates", _CandidateImportParams)


def _queued(request: Request, manifest: ReceivedManifest, wanted: ManifestRequest) -> Response:
    job = queue_import_job(manifest.path, manifest.lines, wanted)
    location = reverse("api:job-detail", args=[job.pk], request=request)
    return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
