"""The researcher's endpoints of retrieval_backend: the gallery, manifests, methods, jobs and candidates.

Every endpoint is for researchers (staff with the model permission the request
needs). Lists are cursor-paginated in id order with a fixed number of queries a
page (``select_related``/``prefetch_related``), so they stay fast at 630k clips.
"""

from __future__ import annotations

import os

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from config.api.errors import Conflict
from config.api.pagination import IdCursorPagination
from config.api.permissions import ResearcherModelPermissions
from retrieval_backend.api import filters
from retrieval_backend.api.imports import (
    ManifestRequest,
    by_line,
    failure_summary,
    problems,
    queue_import_job,
    result_body,
    run_import,
    runs_inline,
)
from retrieval_backend.api.serializers import (
    CandidateImportResultSerializer,
    CandidateSerializer,
    ClipSerializer,
    ErrorSerializer,
    GenerationRequestSerializer,
    JobSerializer,
    JobSummarySerializer,
    ManifestErrorSerializer,
    ManifestImportResultSerializer,
    MistakeQuerySerializer,
    RetrievalMethodSerializer,
    SportSerializer,
    VideoSerializer,
)
from retrieval_backend.api.uploads import BODY_PARSERS, ReceivedManifest, received_manifest
from retrieval_backend.candidate_import import import_candidates
from retrieval_backend.candidates import GenerationError, start_generation
from retrieval_backend.importing.importer import ImportFailed
from retrieval_backend.importing.videos import ProbeMode
from retrieval_backend.jobs import cancel_job
from retrieval_backend.models import Candidate, Clip, Job, MistakeQuery, RetrievalMethod, Sport, Video

_ERROR = OpenApiResponse(ErrorSerializer)
# Every endpoint answers these the same way (config/api/errors.py).
READ_ERRORS = {401: _ERROR, 403: _ERROR}
DETAIL_ERRORS = {**READ_ERRORS, 404: _ERROR}
WRITE_ERRORS = {400: _ERROR, **READ_ERRORS}

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
    create_methods = serializers.BooleanField(default=False)


MANIFEST_PARAMETERS = [
    OpenApiParameter(
        "probe",
        str,
        enum=list(ProbeMode.CHOICES),
        description="sync (default): probe each new video, checking segments against its duration, on a worker "
        "(202 and a job). none: trust the manifest; videos stay pending. async: import now, probe on workers.",
    ),
    OpenApiParameter(
        "skip_invalid",
        bool,
        description="Import the valid lines and list the rejected ones with their problems, instead of "
        "importing nothing when any line is wrong.",
    ),
    OpenApiParameter(
        "base_dir",
        str,
        description="Absolute folder on the server that relative video paths start at (an uploaded manifest has "
        "no folder of its own). Without it, paths must be absolute or http(s) URLs.",
    ),
]


def _manifest_schema(what: str, command: str):
    return extend_schema(
        summary=f"Import a {what} manifest",
        description=(
            f"The JSON Lines format of `manage.py {command}`, checked the same way. With any problem nothing is "
            "imported and the answer lists every problem by line and field (unless `skip_invalid`). Send the file "
            "as the body (Content-Type `application/x-ndjson`) or as a multipart file named `file`. A manifest of "
            "up to 2 MiB with `probe=none` or `probe=async` is imported during the request (201); a larger one, or "
            "`probe=sync`, is imported by a worker: 202 with the job to poll at `/api/v1/jobs/{id}/`, whose "
            "`errors` list the problems by line and whose `result` holds the counts."
        ),
        parameters=MANIFEST_PARAMETERS,
        request=MANIFEST_BODY,
        responses={
            201: ManifestImportResultSerializer,
            202: JobSerializer,
            400: ManifestErrorSerializer,
            **READ_ERRORS,
            409: _ERROR,
            413: _ERROR,
            415: _ERROR,
        },
    )


def import_manifest(request: Request, kind: str) -> Response:
    """Run or queue a manifest import; see ``retrieval_backend.api.imports``."""
    params = _ManifestParams(data=request.query_params)
    params.is_valid(raise_exception=True)
    wanted = ManifestRequest(kind=kind, **params.validated_data)
    manifest: ReceivedManifest = received_manifest(request)
    if not runs_inline(manifest.size, wanted):
        job = queue_import_job(manifest.path, manifest.lines, wanted)
        location = reverse("api:job-detail", args=[job.pk], request=request)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
    try:
        importer, result = run_import(manifest.path, wanted)
    except ImportFailed as exc:
        if not exc.issues:
            raise Conflict(str(exc)) from None
        listed = problems(exc.issues)
        body = {
            "detail": failure_summary(exc.issues),
            "code": "invalid",
            "errors": by_line(listed),
            "problems": listed,
            "problem_count": len(exc.issues),
        }
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    finally:
        manifest.discard()
    return Response(result_body(importer, result), status=status.HTTP_201_CREATED)


class _Researcher:
    permission_classes = [ResearcherModelPermissions]


@extend_schema_view(
    list=extend_schema(summary="List sports", responses={200: SportSerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(summary="A sport", responses={200: SportSerializer, **DETAIL_ERRORS}),
)
class SportViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Sport.objects.all()
    serializer_class = SportSerializer
    filterset_class = filters.SportFilter


@extend_schema_view(
    list=extend_schema(summary="List videos", responses={200: VideoSerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(summary="A video", responses={200: VideoSerializer, **DETAIL_ERRORS}),
)
class VideoViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Video.objects.select_related("sport")
    serializer_class = VideoSerializer
    filterset_class = filters.VideoFilter


@extend_schema_view(
    list=extend_schema(
        summary="List gallery clips", responses={200: ClipSerializer(many=True), 400: _ERROR, **READ_ERRORS}
    ),
    retrieve=extend_schema(summary="A gallery clip", responses={200: ClipSerializer, **DETAIL_ERRORS}),
)
class ClipViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Clip.objects.select_related("sport")
    serializer_class = ClipSerializer
    filterset_class = filters.ClipFilter


@extend_schema_view(
    list=extend_schema(
        summary="List mistake queries",
        responses={200: MistakeQuerySerializer(many=True), 400: _ERROR, **READ_ERRORS},
    ),
    retrieve=extend_schema(summary="A mistake query", responses={200: MistakeQuerySerializer, **DETAIL_ERRORS}),
)
class MistakeQueryViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = MistakeQuery.objects.select_related("sport").prefetch_related(
        Prefetch("positives", queryset=Clip.objects.only("id", "external_id"))
    )
    serializer_class = MistakeQuerySerializer
    filterset_class = filters.MistakeQueryFilter

    @_manifest_schema("mistake query", "import_queries")
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[*BODY_PARSERS, MultiPartParser],
        filterset_class=None,
        pagination_class=None,
    )
    def import_manifest(self, request: Request) -> Response:
        return import_manifest(request, "queries")


class GalleryImportView(_Researcher, APIView):
    """Gallery manifests: one source video a line, with its clips and narrations."""

    queryset = Clip.objects.none()
    parser_classes = [*BODY_PARSERS, MultiPartParser]

    @_manifest_schema("gallery", "import_gallery")
    def post(self, request: Request) -> Response:
        return import_manifest(request, "gallery")


@extend_schema_view(
    list=extend_schema(
        summary="List retrieval methods", responses={200: RetrievalMethodSerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(summary="A retrieval method", responses={200: RetrievalMethodSerializer, **DETAIL_ERRORS}),
    create=extend_schema(
        summary="Register a retrieval method",
        description="The backend must be installed here (or `imported`, for candidates computed elsewhere) and "
        "its parameters are checked by the backend, as in the admin.",
        responses={201: RetrievalMethodSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="Replace a retrieval method", responses={200: RetrievalMethodSerializer, **WRITE_ERRORS, 404: _ERROR}
    ),
    partial_update=extend_schema(
        summary="Change a retrieval method", responses={200: RetrievalMethodSerializer, **WRITE_ERRORS, 404: _ERROR}
    ),
    destroy=extend_schema(
        summary="Delete a retrieval method",
        description="Refused (409) while a study compares the method; its candidate sets go with it.",
        responses={204: None, **DETAIL_ERRORS, 409: _ERROR},
    ),
)
class RetrievalMethodViewSet(_Researcher, viewsets.ModelViewSet):
    queryset = RetrievalMethod.objects.all()
    serializer_class = RetrievalMethodSerializer
    filterset_class = filters.RetrievalMethodFilter
    lookup_field = "name"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def perform_destroy(self, instance: RetrievalMethod) -> None:
        with transaction.atomic():
            studies = list(instance.studies.order_by("slug").values_list("slug", flat=True)[:11])
            if studies:
                shown = ", ".join(studies[:10]) + (", ..." if len(studies) > 10 else "")
                raise Conflict(
                    f"method {instance.name} is compared in the studies {shown}; remove it from them "
                    "(or delete the studies) first."
                )
            instance.delete()


class NewestFirstPagination(IdCursorPagination):
    ordering = "-id"


@extend_schema_view(
    list=extend_schema(
        summary="List jobs, newest first", responses={200: JobSummarySerializer(many=True), **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A job's status and progress",
        description="Poll until `is_finished`; `errors` lists per-item problems (the first 1,000).",
        responses={200: JobSerializer, **DETAIL_ERRORS},
    ),
)
class JobViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Job.objects.all()
    filterset_class = filters.JobFilter
    pagination_class = NewestFirstPagination

    def get_serializer_class(self):
        return JobSummarySerializer if self.action == "list" else JobSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        # The list leaves out the stored errors: up to 1,000 per job, and a page holds up to 1,000 jobs.
        return queryset.defer("errors") if self.action == "list" else queryset

    @extend_schema(
        summary="Cancel a job",
        description="Chunks not yet started are skipped; a chunk already running finishes its work. "
        "A job that has ended is left as it is (409).",
        request=None,
        responses={200: JobSerializer, **DETAIL_ERRORS, 409: _ERROR},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        if not cancel_job(job):
            job.refresh_from_db()
            raise Conflict(f"job {job.pk} has already ended ({job.status}); there is nothing to cancel.")
        job.refresh_from_db()
        return Response(JobSerializer(job).data)

    @extend_schema(
        summary="Generate candidates",
        description="Queue a job that ranks the queries (all, or those named) with each method and stores the "
        "top k as candidate sets, replacing earlier ones. Methods that need an index get it built first.",
        request=GenerationRequestSerializer,
        responses={202: JobSerializer, **WRITE_ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="generate-candidates", filterset_class=None)
    def generate_candidates(self, request: Request) -> Response:
        wanted = GenerationRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        data = wanted.validated_data
        try:
            job = start_generation(data["methods"], data.get("queries"), k=data["k"])
        except GenerationError as exc:
            raise serializers.ValidationError({"methods": [str(exc)]}) from None
        location = reverse("api:job-detail", args=[job.pk], request=request)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


@extend_schema_view(
    list=extend_schema(
        summary="List candidates",
        description="Ranked clips of candidate sets; filter by `query` (external id) and `method` (name).",
        responses={200: CandidateSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(summary="A candidate", responses={200: CandidateSerializer, **DETAIL_ERRORS}),
)
class CandidateViewSet(_Researcher, viewsets.GenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Candidate.objects.select_related("candidate_set__query", "candidate_set__method", "clip").only(
        "id",
        "rank",
        "score",
        "clip_id",
        "clip__external_id",
        "candidate_set__source",
        "candidate_set__query__external_id",
        "candidate_set__method__name",
    )
    serializer_class = CandidateSerializer
    filterset_class = filters.CandidateFilter

    @extend_schema(
        summary="Import candidates computed elsewhere",
        description="The JSON Lines format of `manage.py import_candidates`, one line per query and method: "
        '`{"query": "q-17", "method": "m", "clips": ["abc-1", "abc-7"], "scores": [0.91, 0.88]}`. '
        "Each (query, method) replaces the set stored before. Any wrong line and nothing is imported; "
        "every problem is listed by line and field.",
        parameters=[
            OpenApiParameter(
                "create_methods",
                bool,
                description="Create methods the file names that do not exist yet, as `imported` methods.",
            )
        ],
        request=MANIFEST_BODY,
        responses={201: CandidateImportResultSerializer, 400: ManifestErrorSerializer, **READ_ERRORS, 413: _ERROR},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[*BODY_PARSERS, MultiPartParser],
        filterset_class=None,
        pagination_class=None,
    )
    def import_file(self, request: Request) -> Response:
        params = _CandidateImportParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        manifest = received_manifest(request)
        try:
            with open(manifest.path, "rb") as stream:
                report = import_candidates(
                    stream, create_methods=params.validated_data["create_methods"], source_name="an API upload"
                )
        finally:
            manifest.discard()
        if not report.ok:
            listed = [{"line": e.line, "field": e.field, "message": e.message} for e in report.errors]
            body = {
                "detail": f"{report.error_count} problem(s) in the file; nothing was imported. Fix them and send "
                "it again.",
                "code": "invalid",
                "errors": by_line(listed),
                "problems": listed,
                "problem_count": report.error_count,
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        if report.sets == 0:
            raise serializers.ValidationError({"file": ["the file holds no candidate lines; nothing was imported."]})
        return Response(
            {
                "lines": report.lines,
                "sets": report.sets,
                "replaced": report.replaced,
                "created_methods": report.created_methods,
            },
            status=status.HTTP_201_CREATED,
        )
