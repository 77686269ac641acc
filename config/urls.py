"""URL routes. Each app owns its own ``urls.py``; this file only mounts them."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "coachbench"
admin.site.site_title = "coachbench"
admin.site.index_title = "Studies, gallery and methods"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("config.api.urls")),
    path("media/", include("retrieval_backend.urls")),
    path("", include("annotations.urls")),
]
