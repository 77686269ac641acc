"""The jobs endpoints: list the work the workers do, poll one job's progress, cancel it.

What a job does belongs to the app that started it (gallery imports, candidate
generation, exports); here only its progress, which is the same for every kind.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import Conflict
from core.api.filters import JobFilter
from core.api.pagination import IdCursorPagination
from core.api.permissions import ResearcherModelPermissions
from core.api.schema import DETAIL_ERRORS, ERROR, READ_ERRORS
from core.api.serializers import JobSerializer, JobSummarySerializer
from core.jobs import cancel_job
from core.models import Job


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
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [ResearcherModelPermissions]
    queryset = Job.objects.all()
    filterset_class = JobFilter
    pagination_class = NewestFirstPagination

    def get_serializer_class(self):
        return JobSummarySerializer if self.action == "list" else JobSerializer

    def get_queryset(self):
        # A study's jobs (its exports) are served with the study, where its research group's access is
        # checked; here only the gallery's jobs (imports, probing, embedding, generation).
        queryset = super().get_queryset().exclude(params__has_key="study")
        # The list leaves out the stored errors: up to 1,000 per job, and a page holds up to 1,000 jobs.
        return queryset.defer("errors") if self.action == "list" else queryset

    @extend_schema(
        summary="Cancel a job",
        description="Chunks not yet started are skipped; a chunk already running finishes its work. "
        "A job that has ended is left as it is (409).",
        request=None,
        responses={200: JobSerializer, **DETAIL_ERRORS, 409: ERROR},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        if not cancel_job(job):
            job.refresh_from_db()
            raise Conflict(f"job {job.pk} has already ended ({job.status}); there is nothing to cancel.")
        job.refresh_from_db()
        return Response(JobSerializer(job).data)
