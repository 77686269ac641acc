"""Log-in throttling: password guessing stops after a few failures, per user name and per client address.

Every failed log-in (the coach's page, the admin's, the API's token endpoint) is
counted in the cache under two keys: the user name tried and the address it came
from. Once either count reaches its limit (``LOGIN_FAILURES_PER_USERNAME``,
``LOGIN_FAILURES_PER_ADDRESS``) within ``LOGIN_FAILURE_WINDOW_S``, logging in
under that name or from that address is refused until the window that started
with the first failure ends; the password is then not even checked, so a refused
attempt tells a guesser nothing. A successful log-in clears its user name's count.

The counts live in Django's cache, so every web process must share one: Redis
(``CACHE_URL``) in production. The refusal is enforced in the authentication
backend, so no log-in path escapes it; the forms and the API view ask first only
to say clearly what happened and when to try again.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import user_logged_in, user_login_failed
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest

_PREFIX = "login-failures"


@dataclass(frozen=True)
class Refusal:
    """Logging in is refused for ``wait_s`` more seconds; ``message`` says so to the person trying."""

    wait_s: int
    message: str


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    value = meta.get(settings.LOGIN_CLIENT_ADDRESS_HEADER) or meta.get("REMOTE_ADDR") or ""
    # A forwarded header may list several hops; the first is the client.
    return value.split(",")[0].strip()[:64]


def _keys(request: HttpRequest | None, username: str | None) -> dict[str, tuple[str, int]]:
    """Cache key -> (which, limit) for the name and the address of this attempt."""
    keys = {}
    if username:
        digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
        keys[f"{_PREFIX}:name:{digest}"] = ("name", settings.LOGIN_FAILURES_PER_USERNAME)
    address = client_address(request)
    if address:
        digest = hashlib.sha256(address.encode()).hexdigest()
        keys[f"{_PREFIX}:addr:{digest}"] = ("address", settings.LOGIN_FAILURES_PER_ADDRESS)
    return keys


def refusal(request: HttpRequest | None, username: str | None) -> Refusal | None:
    """Why logging in as ``username`` from this request is refused right now, or ``None`` when it isn't."""
    keys = _keys(request, username)
    # Each count is stored with the time its window started: {"n": failures, "t0": unix time}.
    counts = cache.get_many(list(keys))
    now = time.time()
    worst: tuple[float, str] | None = None
    for key, record in counts.items():
        which, limit = keys[key]
        if record["n"] >= limit:
            wait = record["t0"] + settings.LOGIN_FAILURE_WINDOW_S - now
            if wait > 0 and (worst is None or wait > worst[0]):
                worst = (wait, which)
    if worst is None:
        return None
    wait_s = max(1, math.ceil(worst[0]))
    minutes = max(1, math.ceil(wait_s / 60))
    source = "for this user name" if worst[1] == "name" else "from your network address"
    message = (
        f"Too many failed log-in attempts {source}. Logging in is blocked for {minutes} more "
        f"minute{'s' if minutes != 1 else ''}: wait, then try again, or reset your password if you forgot it."
    )
    return Refusal(wait_s=wait_s, message=message)


def record_failure(request: HttpRequest | None, username: str | None) -> None:
    """Count one failed attempt against the user name and the address."""
    window = settings.LOGIN_FAILURE_WINDOW_S
    now = time.time()
    for key in _keys(request, username):
        # Read, add one, write: two processes failing at the same instant may count once between them,
        # which only delays the block by an attempt. The window is fixed from the first failure.
        record = cache.get(key)
        if record is None or record["t0"] + window <= now:
            record = {"n": 0, "t0": now}
        record["n"] += 1
        cache.set(key, record, timeout=max(1, math.ceil(record["t0"] + window - now)))


def clear_username(username: str | None) -> None:
    """Forget the failures under ``username`` (after it logged in); the address's count stays."""
    for key in _keys(None, username):
        cache.delete(key)


class ThrottledModelBackend(ModelBackend):
    """Django's user/password check, refused outright while the name or the address is blocked."""

    def refuses(self, username: str | None, password: str | None) -> bool:
        """Credentials refused before they are checked; a subclass adds its own (``demo.auth``)."""
        return False

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            from django.contrib.auth import get_user_model

            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if refusal(request, username) is not None:
            # authenticate() stops at PermissionDenied (no other backend tries) and reports a failed log-in.
            raise PermissionDenied
        if self.refuses(username, password):
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed, dispatch_uid="login_throttle_failed")
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    from django.contrib.auth import get_user_model

    record_failure(request, credentials.get("username") or credentials.get(get_user_model().USERNAME_FIELD))


@receiver(user_logged_in, dispatch_uid="login_throttle_succeeded")
def _clear_on_success(sender, request, user, **kwargs) -> None:
    clear_username(user.get_username())


class _SaysWhenBlocked:
    """Form mixin: a blocked log-in gets the throttle's message instead of "wrong password"."""

    request: HttpRequest | None

    def clean(self):
        blocked = refusal(self.request, self.data.get("username"))
        if blocked is not None:
            raise ValidationError(blocked.message, code="throttled")
        return super().clean()


class ThrottledAuthenticationForm(_SaysWhenBlocked, AuthenticationForm):
    """The coaches' log-in form (/accounts/login/)."""


class ThrottledAdminAuthenticationForm(_SaysWhenBlocked, AdminAuthenticationForm):
    """The admin's log-in form (/admin/login/)."""
