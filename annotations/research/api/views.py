"""A study's judgements, its cached report (agreement, leaderboard) and its dataset exports, for researchers.

Every endpoint finds the study among those the caller manages (``studies.access``), so another
group's study is a 404. The report is never computed in the request: it is read from
``StudyReport`` and, when missing, queued for a worker, and the answer says so.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import django_filters
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from annotations.models import Judgement, StudyExport, StudyReport
from annotations.research.api.serializers import (
    AgreementSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    JudgementSerializer,
    LeaderboardSerializer,
)
from annotations.research.export.runs import export_file, start_export
from annotations.research.reports import report_is_stale
from core.api.errors import Conflict
from core.api.parsers import PARSERS
from core.api.permissions import ResearcherModelPermissions
from core.api.schema import api_error
from studies.access import managed_study
from studies.api.errors import READ_ERRORS
from studies.models import Item, Study

logger = logging.getLogger(__name__)


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 bound that must also exist in UTC (0001-01-01T00:00+14:00 does not)."""

    def __init__(self, *args, param: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.param = param

    def filter(self, qs, value):
        if value is not None:
            try:
                # PostgreSQL refuses offsets beyond about 16 h (Python allows 24 h): the bound goes in as UTC.
                value = value.astimezone(dt.UTC)
            except OverflowError:
                raise serializers.ValidationError(
                    {
                        self.param: [
                            "This time falls outside years 1 to 9999 once converted to UTC: give one inside them."
                        ]
                    }
                ) from None
        return super().filter(qs, value)


class JudgementFilter(django_filters.FilterSet):
    coach = django_filters.CharFilter(field_name="coach__username", help_text="The coach's user name.")
    method = django_filters.CharFilter(
        method="by_method", help_text="A method's name: judgements of items showing a clip it returned."
    )
    sport = django_filters.CharFilter(field_name="item__query__sport__slug", help_text="The query's sport slug.")
    kind = django_filters.ChoiceFilter(choices=Item.Kind.choices)
    created_after = UtcDateTimeFilter(
        param="created_after",
        field_name="created",
        lookup_expr="gte",
        help_text="ISO 8601, e.g. 2026-05-01T00:00:00Z (inclusive).",
    )
    created_before = UtcDateTimeFilter(
        param="created_before", field_name="created", lookup_expr="lt", help_text="ISO 8601 (exclusive)."
    )

    class Meta:
        model = Judgement
        fields = ["coach", "method", "sport", "kind", "created_after", "created_before"]

    def by_method(self, queryset: QuerySet[Judgement], name: str, value: str) -> QuerySet[Judgement]:
        study: Study = self.request.parser_context["view"].study
        method_id = study.methods.filter(name=value).values_list("id", flat=True).first()
        if method_id is None:
            names = ", ".join(study.methods.order_by("name").values_list("name", flat=True))
            raise serializers.ValidationError({"method": [f"This study compares no method “{value}”: use {names}."]})
        credit = [{"method": method_id}]
        if connection.vendor == "postgresql":
            # jsonb containment on the joined item: no id list, whatever the study's size.
            return queryset.filter(Q(item__credits_a__contains=credit) | Q(item__credits_b__contains=credit))
        items = [
            pk
            for pk, a, b in Item.objects.filter(study=study).values_list("pk", "credits_a", "credits_b")
            if any(c.get("method") == method_id for c in (a or []) + (b or []))
        ]
        return queryset.filter(item_id__in=items)


class _StudyScoped:
    """Views under ``studies/<pk>/``: the study is looked up once, among those the caller manages."""

    request: Request
    kwargs: dict

    @property
    def study(self) -> Study:
        if not hasattr(self, "_study"):
            self._study = managed_study(self.request, self.kwargs["pk"])
        return self._study


@extend_schema(
    summary="A study's judgements in id order (cursor-paginated, read-only)",
    description="Filter by coach, method, sport, kind and creation time. Pages cost the same few queries "
    "whatever the study's size.",
    responses={200: JudgementSerializer, 400: api_error("A filter value is invalid."), **READ_ERRORS},
)
class StudyJudgementList(_StudyScoped, generics.ListAPIView):
    serializer_class = JudgementSerializer
    permission_classes = [ResearcherModelPermissions]
    queryset = Judgement.objects.none()
    filterset_class = JudgementFilter

    def get_queryset(self):
        return Judgement.objects.filter(study=self.study).select_related("coach").order_by()


def _report_state(study: Study) -> tuple[StudyReport | None, dict]:
    """The cached report and how current it is; queues a computation when there is none."""
    report = StudyReport.objects.filter(study=study).first()
    if report is None or report.computed is None:
        try:
            report_is_stale(study.pk, countdown=0)
        except Exception:  # the broker is down: say it is pending; the next judgement or request queues again
            logger.exception("could not queue the report of study %s", study.pk)
    shown = report or StudyReport(study=study)
    state = {"state": shown.state, "message": shown.state_message, "computed": shown.computed}
    return (report if shown.computed else None), state


def _report_responses(serializer) -> dict:
    return {
        200: serializer,
        202: OpenApiResponse(
            serializer, description="No report yet: it is being computed; `state` is computing (or failed)."
        ),
        **READ_ERRORS,
    }


class _ReportView(_StudyScoped, generics.GenericAPIView):
    permission_classes = [ResearcherModelPermissions]  # viewing studies, as the admin's report page
    queryset = Study.objects.none()
    pagination_class = None
    filter_backends: list = []
    sections: tuple[str, ...] = ()

    def get(self, request: Request, pk: int) -> Response:
        report, state = _report_state(self.study)
        data = report.data if report is not None else {}
        body = {**state, **{name: data.get(name) for name in self.sections}}
        return Response(
            self.get_serializer(body).data, status=status.HTTP_200_OK if report else status.HTTP_202_ACCEPTED
        )


@extend_schema(
    summary="Inter-rater agreement of a study, from its cached report",
    responses=_report_responses(AgreementSerializer),
)
class StudyAgreement(_ReportView):
    serializer_class = AgreementSerializer
    sections = ("counts", "agreement")


@extend_schema(
    summary="The methods' leaderboard of a study, from its cached report",
    responses=_report_responses(LeaderboardSerializer),
)
class StudyLeaderboard(_ReportView):
    serializer_class = LeaderboardSerializer
    sections = ("leaderboard", "pairs", "win_matrix", "likert")


@extend_schema_view(
    get=extend_schema(summary="A study's export runs, newest first", responses={200: ExportSerializer, **READ_ERRORS}),
    post=extend_schema(
        summary="Start an export of the study's dataset on a worker",
        request=ExportRequestSerializer,
        responses={
            202: ExportSerializer,
            400: api_error("Invalid input."),
            **READ_ERRORS,
        },
    ),
)
class StudyExportList(_StudyScoped, generics.ListCreateAPIView):
    parser_classes = PARSERS
    serializer_class = ExportSerializer
    permission_classes = [ResearcherModelPermissions]
    queryset = StudyExport.objects.none()
    filter_backends: list = []

    def get_queryset(self):
        return StudyExport.objects.filter(study=self.study).select_related("job", "requested_by")

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-id"
        return super().paginate_queryset(queryset)

    def create(self, request: Request, *args, **kwargs) -> Response:
        asked = ExportRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        identities = asked.validated_data["include_identities"]
        study = self.study
        if identities and not request.user.has_perm("studies.change_study"):
            raise PermissionDenied(
                "Exports naming coaches need the permission to change studies; export pseudonymously instead."
            )
        export = start_export(study, requested_by=request.user, include_identities=identities)
        export = self.get_queryset().get(pk=export.pk)
        return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)


class _ExportScoped(_StudyScoped):
    def export(self) -> StudyExport:
        return get_object_or_404(
            StudyExport.objects.select_related("job", "requested_by", "study"),
            pk=self.kwargs["export_id"],
            study=self.study,
        )


@extend_schema(summary="One export run: status and progress", responses={200: ExportSerializer, **READ_ERRORS})
class StudyExportDetail(_ExportScoped, generics.GenericAPIView):
    serializer_class = ExportSerializer
    permission_classes = [ResearcherModelPermissions]
    queryset = StudyExport.objects.none()
    pagination_class = None
    filter_backends: list = []

    def get(self, request: Request, pk: int, export_id: int) -> Response:
        return Response(self.get_serializer(self.export()).data)


class ZipRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: application/zip``; errors still go out as JSON text."""

    media_type = "application/zip"
    format = "zip"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return data if isinstance(data, bytes) else json.dumps(data).encode()


@extend_schema(
    summary="Download a finished export's zip (streamed)",
    responses={
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The dataset bundle."),
        409: api_error("The export is still queued or running, or it failed."),
        **READ_ERRORS,
    },
)
class StudyExportDownload(_ExportScoped, generics.GenericAPIView):
    permission_classes = [ResearcherModelPermissions]
    queryset = StudyExport.objects.none()
    renderer_classes = [JSONRenderer, ZipRenderer]
    pagination_class = None
    filter_backends: list = []

    def get(self, request: Request, pk: int, export_id: int) -> FileResponse:
        export = self.export()
        if export.status == StudyExport.Status.FAILED:
            raise Conflict(f"This export failed ({export.error}): start a new export.")
        if not export.is_offered:
            raise Conflict(
                f"This export is {export.status}, not ready yet: poll its status until it is done, then download."
            )
        if export.include_identities and not request.user.has_perm("studies.change_study"):
            raise PermissionDenied("This export names coaches: downloading it needs the permission to change studies.")
        try:
            path = export_file(export)
            handle = path.open("rb")
        except FileNotFoundError:
            raise NotFound("The export's file is gone: start a new export.") from None
        response = FileResponse(handle, as_attachment=True, filename=path.name, content_type="application/zip")
        response["X-Content-SHA256"] = export.sha256
        return response
