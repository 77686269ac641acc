"""API routes of the research side: a study's judgements, agreement, leaderboard and dataset exports."""

from __future__ import annotations

from django.urls import path

from annotations.research.api import views

urlpatterns = [
    path("studies/<int:pk>/judgements/", views.StudyJudgementList.as_view(), name="study-judgements"),
    path("studies/<int:pk>/agreement/", views.StudyAgreement.as_view(), name="study-agreement"),
    path("studies/<int:pk>/leaderboard/", views.StudyLeaderboard.as_view(), name="study-leaderboard"),
    path("studies/<int:pk>/exports/", views.StudyExportList.as_view(), name="study-exports"),
    path("studies/<int:pk>/exports/<int:export_id>/", views.StudyExportDetail.as_view(), name="study-export"),
    path(
        "studies/<int:pk>/exports/<int:export_id>/download/",
        views.StudyExportDownload.as_view(),
        name="study-export-download",
    ),
]
