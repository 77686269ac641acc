"""API routes of the coach's side: open studies, the next task, answering, history and revising."""

from __future__ import annotations

from django.urls import path, re_path

from annotations.coach.api import views

TOKEN = r"(?P<token>[A-Za-z0-9_-]{8,64})"  # noqa: S105 - a URL pattern, not a secret

urlpatterns = [
    path("coach/studies/", views.CoachStudyList.as_view(), name="coach-studies"),
    path("coach/studies/<slug:slug>/next/", views.CoachNextTask.as_view(), name="coach-next"),
    re_path(rf"^coach/tasks/{TOKEN}/$", views.CoachTask.as_view(), name="coach-task"),
    re_path(rf"^coach/tasks/{TOKEN}/answer/$", views.CoachSubmit.as_view(), name="coach-submit"),
    path("coach/judgements/", views.CoachJudgementList.as_view(), name="coach-judgements"),
    re_path(rf"^coach/judgements/{TOKEN}/$", views.CoachJudgementRevise.as_view(), name="coach-judgement"),
]
