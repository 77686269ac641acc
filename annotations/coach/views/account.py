"""The coach's account pages that Django's own views leave bare: logging out from an address typed in."""

from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class LogOutPage(LogoutView):
    """``/accounts/logout/``: a POST logs out (Django's view); a GET shows a page with the button.

    Logging out changes state, so it stays a POST (a link or a prefetch must not log anyone
    out), but a coach who types the address or follows an old bookmark should get a way
    to do it, not a 405.
    """

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return render(request, "registration/logout_confirm.html")
