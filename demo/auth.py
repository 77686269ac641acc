"""The demo accounts' published password, refused unless ``DEMO_LOGINS`` (or ``DEBUG``) allows it."""

from __future__ import annotations

from django.conf import settings

from core.login_throttle import ThrottledModelBackend
from demo.accounts import COACHES, DEMO_PASSWORD, RESEARCHER


def is_demo_login(username: str | None, password: str | None) -> bool:
    """The published password of seed_demo's accounts."""
    return password == DEMO_PASSWORD and (username or "").strip() in {RESEARCHER, *COACHES}


class DemoGuardedBackend(ThrottledModelBackend):
    """The throttled log-in, which also refuses the demo password where demo logins are off.

    A demo database copied to a server must not be an open door to anyone who read the README.
    """

    def refuses(self, username: str | None, password: str | None) -> bool:
        return not settings.DEMO_LOGINS and is_demo_login(username, password)
