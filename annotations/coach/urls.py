"""Coach-facing pages. Every address names a study by slug or an assignment by its opaque token."""

from __future__ import annotations

from django.urls import path, re_path

from annotations.coach.views import history, settings, studies, task, task_video

app_name = "coach"
TOKEN = r"(?P<token>[A-Za-z0-9_-]{8,64})"  # noqa: S105 - a URL pattern, not a secret
urlpatterns = [
    path("", studies.home, name="home"),
    path("studies/<slug:slug>/", studies.study_detail, name="study"),
    path("studies/<slug:slug>/continue/", studies.continue_study, name="continue"),
    path("studies/<slug:slug>/done/", studies.done, name="done"),
    re_path(rf"^task/{TOKEN}/$", task.task, name="task"),
    re_path(rf"^task/{TOKEN}/ahead/$", task.look_ahead, name="look_ahead"),
    re_path(rf"^task/{TOKEN}/(?P<side>query|left|right|clip)\.mp4$", task_video.task_video, name="task_video"),
    path("history/", history.history, name="history"),
    re_path(rf"^history/{TOKEN}/$", history.revise_answer, name="revise"),
    path("settings/", settings.coach_settings, name="settings"),
]
