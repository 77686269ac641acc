"""URL routes. Each app owns its own ``urls.py``; this file only mounts them."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from config.login_throttle import ThrottledAdminAuthenticationForm, ThrottledAuthenticationForm
from config.reset_throttle import ThrottledPasswordResetView

admin.site.site_header = "coachbench"
admin.site.site_title = "coachbench"
admin.site.index_title = "Studies, gallery and methods"
# Both log-in forms say clearly when too many failed attempts block logging in (config.login_throttle).
admin.site.login_form = ThrottledAdminAuthenticationForm

# A 503 page instead of a 500 when the database is unreachable outside a view (config.unavailable).
handler500 = "config.unavailable.server_error"
# Under /api/ an unknown address is answered in the API's JSON error format (config.api.errors).
handler404 = "config.api.errors.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(authentication_form=ThrottledAuthenticationForm), name="login"),
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("config.api.urls")),
    path("media/", include("retrieval_backend.urls")),
    path("", include("annotations.urls")),
]
