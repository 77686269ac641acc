"""URL routes. Each app owns its own ``urls.py`` (and ``api/urls.py``); this file only mounts them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView

from core.api.auth import ThrottledObtainAuthToken
from core.api.docs import RedocDocsView, SwaggerDocsView
from core.login_throttle import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm
from core.reset_throttle import ThrottledPasswordResetView

admin.site.site_header = "coachbench"
admin.site.site_title = "coachbench"
admin.site.index_title = "Studies, gallery and methods"
# Both log-in forms say clearly when too many failed attempts block logging in (core.login_throttle).
admin.site.login_form = ThrottledAdminAuthenticationForm

# A 503 page instead of a 500 when the database is unreachable outside a view (core.unavailable).
handler500 = "core.unavailable.server_error"
# Under /api/ an unknown address is answered in the API's JSON error format (core.api.errors).
handler404 = "core.api.errors.not_found"

# Version 1 of the REST API: each app's endpoints, from its own api/urls.py.
api_v1 = [
    path("auth/token/", ThrottledObtainAuthToken.as_view(), name="token"),
    # Before core's: retrieval_backend's jobs/generate-candidates/ must win over core's jobs/<id>/.
    path("", include("retrieval_backend.api.urls")),
    path("", include("core.api.urls")),
    path("", include("studies.api.urls")),
    path("", include("annotations.research.api.urls")),
    path("", include("annotations.coach.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(authentication_form=ThrottledAuthenticationForm), name="login"),
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    # Before Django's own: a GET of accounts/logout/ gets a page with the log-out button, not a 405.
    path("accounts/", include("annotations.coach.account_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # Pages name the icon (templates/_base.html); this is for what the browser shows without a page (a clip).
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "favicon.svg")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocDocsView.as_view(url_name="api-schema"), name="api-redoc"),
    path("media/", include("retrieval_backend.urls")),
    # The coach scripts' strings in the page's language, loaded by <script src> (the CSP allows no inline script).
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("annotations.coach.urls")),
]
