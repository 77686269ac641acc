"""API routes of retrieval_backend: the gallery, manifest imports, methods, candidates and their generation."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from retrieval_backend.api import views

router = SimpleRouter()
router.register("sports", views.SportViewSet, basename="sport")
router.register("videos", views.VideoViewSet, basename="video")
router.register("clips", views.ClipViewSet, basename="clip")
router.register("queries", views.MistakeQueryViewSet, basename="query")
router.register("methods", views.RetrievalMethodViewSet, basename="method")
router.register("candidates", views.CandidateViewSet, basename="candidate")

urlpatterns = [
    path("gallery/import/", views.GalleryImportView.as_view(), name="gallery-import"),
    # Mounted before core's jobs routes (config/urls.py), whose jobs/<id>/ would otherwise take this path.
    path("jobs/generate-candidates/", views.GenerateCandidatesView.as_view(), name="job-generate-candidates"),
    *router.urls,
]
