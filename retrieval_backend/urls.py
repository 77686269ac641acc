"""Media routes: rendered segments for logged-in users (see ``views`` for who may fetch what)."""

from __future__ import annotations

from django.urls import path

from retrieval_backend import views

app_name = "media"
urlpatterns = [
    path("clips/<int:clip_id>.mp4", views.clip_segment, name="clip"),
    path("queries/<int:query_id>.mp4", views.query_segment, name="query"),
]
