"""``POST /api/v1/auth/token/``: a user's API token for their user name and password, throttled like log-in."""

from __future__ import annotations

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled

from core.login_throttle import refusal


class ThrottledObtainAuthToken(ObtainAuthToken):
    """Your API token, for your user name and password.

    After too many wrong passwords for one user name, or from one address, it answers 429
    with how long to wait (``retry_after_s``); the web log-in is blocked alike.
    """

    def post(self, request, *args, **kwargs):
        blocked = refusal(request, request.data.get("username") if hasattr(request.data, "get") else None)
        if blocked is not None:
            raise Throttled(wait=blocked.wait_s, detail=blocked.message)
        return super().post(request, *args, **kwargs)
