"""Account addresses under ``/accounts/`` that the coach's pages answer themselves (before Django's own)."""

from __future__ import annotations

from django.urls import path

from annotations.coach.views.account import LogOutPage

urlpatterns = [
    path("logout/", LogOutPage.as_view(), name="logout"),
]
