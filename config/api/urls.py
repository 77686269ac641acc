"""``/api/``: version 1 of the API, its OpenAPI schema, and Swagger UI and ReDoc to read it."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.api.auth import ThrottledObtainAuthToken
from config.api.docs import RedocDocsView, SwaggerDocsView

v1 = [
    path("auth/token/", ThrottledObtainAuthToken.as_view(), name="token"),
    path("", include("retrieval_backend.api.urls")),
    path("", include("studies.api.urls")),
    path("", include("annotations.api.urls")),
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="api")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", RedocDocsView.as_view(url_name="api-schema"), name="api-redoc"),
]
