"""The language of a coach's pages: their choice, saved on their profile, or else their browser's.

Django's ``LocaleMiddleware`` picks the language of each request from the language
cookie, then the browser's Accept-Language, then ``LANGUAGE_CODE``. A coach's choice
lives on ``CoachProfile.language`` and reaches the cookie when they log in and when
they change it on the settings page, so no page view reads the profile (the task
page's queries stay as they are). A blank choice removes the cookie: the browser decides.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from studies.models import CoachProfile

# Set on the request by ``use_language``; the middleware below writes it to the cookie on the way out.
_CHOSEN = "_coachbench_language"


def is_offered(code: str) -> bool:
    """Whether ``code`` is one of the site's languages (settings.LANGUAGES)."""
    return code in {language for language, _name in settings.LANGUAGES}


def use_language(request: HttpRequest, code: str) -> None:
    """Show this request in ``code`` and remember it in the browser; "" goes back to the browser's language."""
    code = code if is_offered(code) else ""
    setattr(request, _CHOSEN, code)
    # Without a choice, the browser's own language: not the cookie this request arrived with, which goes.
    chosen = code or _browser_language(request)
    translation.activate(chosen)
    request.LANGUAGE_CODE = chosen


def _browser_language(request: HttpRequest) -> str:
    """The language Accept-Language asks for among the site's, or the default."""
    for accepted, _quality in translation.trans_real.parse_accept_lang_header(
        request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    ):
        if accepted == "*":
            break
        try:
            return translation.get_supported_language_variant(accepted)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


@receiver(user_logged_in, dispatch_uid="coachbench-coach-language")
def _language_at_log_in(sender: type, request: HttpRequest | None, user: AbstractBaseUser, **kwargs) -> None:
    """A coach who chose a language gets it from the page after logging in, on any browser."""
    if request is None:  # a log-in outside a request (a test client's force_login)
        return
    code = CoachProfile.objects.filter(user=user).values_list("language", flat=True).first()
    if code is not None:
        use_language(request, code)


class LanguageCookieMiddleware:
    """Writes the language a request chose (``use_language``) to the cookie LocaleMiddleware reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not hasattr(request, _CHOSEN):
            return response
        code = getattr(request, _CHOSEN)
        if code:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                code,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE or request.is_secure(),
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
            )
        else:
            response.delete_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
