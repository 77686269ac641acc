"""Studies for researchers' scripts: design while draft, lifecycle actions, progress, items.

Every endpoint sees only the studies the caller manages (``studies.access``): a study of
another research group is a 404, as if it did not exist. Reads need the model's view
permission, writes its add/change/delete permission, lifecycle actions ``change``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import Conflict
from core.api.parsers import PARSERS
from core.api.permissions import IsResearcher, ResearcherModelPermissions
from core.api.schema import api_error
from studies import lifecycle
from studies.access import managed_studies, managed_study
from studies.api.errors import ERRORS, READ_ERRORS
from studies.api.serializers import ItemSerializer, ProblemSerializer, StudyProgressSerializer, StudySerializer
from studies.models import Item, Study
from studies.progress import study_progress


class CanChangeStudies(BasePermission):
    """Lifecycle actions change a study: staff with ``studies.change_study``."""

    message = "Your account lacks the permission to change studies; ask an administrator to grant it."

    def has_permission(self, request, view) -> bool:
        return IsResearcher().has_permission(request, view) and request.user.has_perm("studies.change_study")


LIFECYCLE_RESPONSES = {
    200: StudySerializer,
    409: OpenApiResponse(ProblemSerializer, description="Not possible in the study's state, with each problem."),
    **READ_ERRORS,
}


@extend_schema_view(
    list=extend_schema(summary="Studies you manage, oldest first", responses={200: StudySerializer, **READ_ERRORS}),
    retrieve=extend_schema(summary="One study's design and status"),
    create=extend_schema(summary="Create a draft study", responses={201: StudySerializer, **ERRORS}),
    update=extend_schema(
        summary="Replace a draft's design",
        responses={200: StudySerializer, 409: api_error("The study is no longer a draft."), **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change part of a draft's design",
        responses={200: StudySerializer, 409: api_error("The study is no longer a draft."), **ERRORS},
    ),
    destroy=extend_schema(
        summary="Delete a draft",
        responses={204: None, 409: api_error("The study is no longer a draft."), **READ_ERRORS},
    ),
)
class StudyViewSet(viewsets.ModelViewSet):
    parser_classes = PARSERS
    serializer_class = StudySerializer
    permission_classes = [ResearcherModelPermissions]
    queryset = Study.objects.none()  # for the permission class's model; get_queryset filters by group
    filterset_fields = ["status"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return (
            managed_studies(self.request.user)
            .select_related("created_by", "group")
            .prefetch_related("methods", "query_sports", "queries", "eligible_sports", "eligible_coaches")
        )

    def get_permissions(self):
        if self.action in {"build", "publish", "pause", "close"}:
            return [CanChangeStudies()]
        return super().get_permissions()

    def perform_create(self, serializer) -> None:
        serializer.save(created_by=self.request.user, status=Study.Status.DRAFT)

    def perform_update(self, serializer) -> None:
        try:
            # The row as changed under the lock, so the answer shows what a build racing this edit left.
            serializer.instance = lifecycle.update_design(
                serializer.instance, serializer.validated_data, by=self.request.user
            )
        except lifecycle.DesignFrozen as refusal:
            raise Conflict(str(refusal)) from None

    def perform_destroy(self, instance: Study) -> None:
        try:
            lifecycle.delete_draft(instance, by=self.request.user)
        except lifecycle.DesignFrozen as refusal:
            raise Conflict(str(refusal)) from None

    def _transition(self, request: Request, step: Callable[[Study], None]) -> Response:
        study = self.get_object()
        try:
            step(study)
        except lifecycle.LifecycleError as exc:
            lines = str(exc).splitlines()
            problems = [line[2:] for line in lines if line.startswith("- ")]
            return Response({"detail": lines[0], "code": "conflict", "problems": problems}, status=409)
        study.refresh_from_db()
        return Response(self.get_serializer(self.get_queryset().get(pk=study.pk)).data)

    @extend_schema(
        summary="Check the design and build the items on a worker",
        description="The study shows `generating` until the worker is done, then `ready` (or `draft` with "
        "`status_message` saying what failed). A design that is not complete gives 409 with every problem.",
        request=None,
        responses=LIFECYCLE_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def build(self, request: Request, pk=None) -> Response:
        return self._transition(request, lifecycle.start_build)

    @extend_schema(summary="Put a ready or paused study live", request=None, responses=LIFECYCLE_RESPONSES)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk=None) -> Response:
        return self._transition(request, lifecycle.publish)

    @extend_schema(summary="Pause a live study", request=None, responses=LIFECYCLE_RESPONSES)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk=None) -> Response:
        return self._transition(request, lifecycle.pause)

    @extend_schema(summary="Close a study for good", request=None, responses=LIFECYCLE_RESPONSES)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None) -> Response:
        return self._transition(request, lifecycle.close)

    @extend_schema(
        summary="Judgements done against required: overall, by kind, method pair and coach",
        responses={200: StudyProgressSerializer, **READ_ERRORS},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_fields=[])
    def progress(self, request: Request, pk=None) -> Response:
        study = self.get_object()
        progress = study_progress(study)
        data = asdict(progress)
        for name in ("by_kind", "by_pair", "by_coach"):
            for bar, row in zip(getattr(progress, name), data[name], strict=True):
                row["percent"] = bar.percent
        data["overall"]["percent"] = progress.overall.percent
        data["status"] = study.status
        return Response(StudyProgressSerializer(data).data)


@extend_schema(
    summary="A study's items, in id order (cursor-paginated)", responses={200: ItemSerializer, **READ_ERRORS}
)
class StudyItemList(generics.ListAPIView):
    serializer_class = ItemSerializer
    permission_classes = [ResearcherModelPermissions]
    queryset = Item.objects.none()
    filterset_fields = ["kind", "is_gold"]

    def get_queryset(self):
        study = managed_study(self.request, self.kwargs["pk"])
        return Item.objects.filter(study=study)
