"""API routes of studies: ``/api/v1/studies/`` and each study's actions, progress and items."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from studies.api.views import StudyItemList, StudyViewSet

router = SimpleRouter()
router.register("studies", StudyViewSet, basename="study")

urlpatterns = [
    path("studies/<int:pk>/items/", StudyItemList.as_view(), name="study-items"),
    *router.urls,
]
