"""The researcher's endpoints of retrieval_backend: the gallery, manifests, methods, candidates, generation.

Every endpoint is for researchers (staff with the model permission the request
needs). Lists are cursor-paginated in id order with a fixed number of queries a
page (``select_related``/``prefetch_related``), so they stay fast at 630k clips.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.api.errors import Conflict
from core.api.permissions import ResearcherModelPermissions
from core.api.serializers import JobSerializer
from core.models import Job
from retrieval_backend.api import filters
from retrieval_backend.api.import_views import (
    DETAIL_ERRORS,
    ERROR,
    READ_ERRORS,
    WRITE_ERRORS,
    candidate_import_schema,
    import_candidate_file,
    import_manifest,
    manifest_schema,
)
from retrieval_backend.api.serializers import (
    CandidateSerializer,
    ClipSerializer,
    GenerationRequestSerializer,
    MistakeQuerySerializer,
    RetrievalMethodSerializer,
    SportSerializer,
    VideoSerializer,
)
from retrieval_backend.api.uploads import BODY_PARSERS
from retrieval_backend.candidates.generation import GenerationError, start_generation
from retrieval_backend.models import Candidate, Clip, MistakeQuery, RetrievalMethod, Sport, Video


class _Researcher:
    permission_classes = [ResearcherModelPermissions]


def _import_action():
    """``POST .../import/``: a manifest file, as the request body or an upload; neither filtered nor paginated.

    A new decorator for each action: ``action`` keeps its keyword arguments in one dict, which the
    schema decorators then write into.
    """
    return action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[*BODY_PARSERS, MultiPartParser],
        filterset_class=None,
        pagination_class=None,
    )


def _read_only_schema(listed: str, one: str, serializer, *, filtered: bool = True):
    """The schema of a read-only viewset: its list (a 400 for a bad filter where it filters) and its detail."""
    list_errors = {400: ERROR, **READ_ERRORS} if filtered else READ_ERRORS
    return extend_schema_view(
        list=extend_schema(summary=listed, responses={200: serializer(many=True), **list_errors}),
        retrieve=extend_schema(summary=one, responses={200: serializer, **DETAIL_ERRORS}),
    )


@_read_only_schema("List sports", "A sport", SportSerializer, filtered=False)
class SportViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Sport.objects.all()
    serializer_class = SportSerializer
    filterset_class = filters.SportFilter


@_read_only_schema("List videos", "A video", VideoSerializer, filtered=False)
class VideoViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Video.objects.select_related("sport")
    serializer_class = VideoSerializer
    filterset_class = filters.VideoFilter


@_read_only_schema("List gallery clips", "A gallery clip", ClipSerializer)
class ClipViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = Clip.objects.select_related("sport")
    serializer_class = ClipSerializer
    filterset_class = filters.ClipFilter


@_read_only_schema("List mistake queries", "A mistake query", MistakeQuerySerializer)
class MistakeQueryViewSet(_Researcher, viewsets.ReadOnlyModelViewSet):
    queryset = MistakeQuery.objects.select_related("sport").prefetch_related(
        Prefetch("positives", queryset=Clip.objects.only("id", "external_id"))
    )
    serializer_class = MistakeQuerySerializer
    filterset_class = filters.MistakeQueryFilter

    @manifest_schema("mistake query", "import_queries")
    @_import_action()
    def import_manifest(self, request: Request) -> Response:
        return import_manifest(request, "queries")


class GalleryImportView(_Researcher, APIView):
    """Gallery manifests: one source video a line, with its clips and narrations."""

    queryset = Clip.objects.none()
    parser_classes = [*BODY_PARSERS, MultiPartParser]

    @manifest_schema("gallery", "import_gallery")
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
        summary="Replace a retrieval method", responses={200: RetrievalMethodSerializer, **WRITE_ERRORS, 404: ERROR}
    ),
    partial_update=extend_schema(
        summary="Change a retrieval method", responses={200: RetrievalMethodSerializer, **WRITE_ERRORS, 404: ERROR}
    ),
    destroy=extend_schema(
        summary="Delete a retrieval method",
        description="Refused (409) while a study compares the method; its candidate sets go with it.",
        responses={204: None, **DETAIL_ERRORS, 409: ERROR},
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


class GenerateCandidatesView(_Researcher, APIView):
    """``POST /api/v1/jobs/generate-candidates/``: under the jobs, as it answers with one (core.api serves the rest)."""

    # Starting it needs the permission to add jobs, as when it was an action of the jobs endpoint.
    queryset = Job.objects.all()

    @extend_schema(
        summary="Generate candidates",
        description="Queue a job that ranks the queries (all, or those named) with each method and stores the "
        "top k as candidate sets, replacing earlier ones. Methods that need an index get it built first.",
        request=GenerationRequestSerializer,
        responses={202: JobSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
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

    @candidate_import_schema
    @_import_action()
    def import_file(self, request: Request) -> Response:
        return import_candidate_file(request)
