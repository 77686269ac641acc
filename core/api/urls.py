"""API routes of core: the jobs (``/api/v1/jobs/``)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from core.api import views

router = SimpleRouter()
router.register("jobs", views.JobViewSet, basename="job")

urlpatterns = router.urls
