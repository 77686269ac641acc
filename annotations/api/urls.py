"""API routes of annotations: a study's judgements, report and exports; the coach's tasks."""

from __future__ import annotations

from django.urls import path, re_path

from annotations.api import coach, views

TOKEN = r"(?P<token>[A-Za-z0-9_-]{8,64})"  # noqa: S105 - a URL pattern, not a secret

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
    path("coach/studies/", coach.CoachStudyList.as_view(), name="coach-studies"),
    path("coach/studies/<slug:slug>/next/", coach.CoachNextTask.as_view(), name="coach-next"),
    re_path(rf"^coach/tasks/{TOKEN}/$", coach.CoachTask.as_view(), name="coach-task"),
    re_path(rf"^coach/tasks/{TOKEN}/answer/$", coach.CoachSubmit.as_view(), name="coach-submit"),
    path("coach/judgements/", coach.CoachJudgementList.as_view(), name="coach-judgements"),
    re_path(rf"^coach/judgements/{TOKEN}/$", coach.CoachJudgementRevise.as_view(), name="coach-judgement"),
]
