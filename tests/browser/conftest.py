"""A headless Debian Chromium page for the browser tests, driven by Playwright against ``live_server``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from django.db import connections

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(monkeypatch) -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below
    # are ordinary blocking calls between browser steps, which Django would refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=LAPTOP)
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:
            browser.close()
            # Under Playwright's event loop the ORM calls of the test got connections of their own
            # (Django keys connections by context); close them, or PostgreSQL can't drop the test database.
            connections.close_all()


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch) -> None:
    # A proxy from the environment would swallow requests to the live server.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        if name in os.environ:
            monkeypatch.delenv(name)


@pytest.fixture
def production_static(settings, tmp_path):
    """Serve this project's static files as production does: its CSS and JavaScript minified.

    The same transformation ``collectstatic`` applies (core/static_storage.py), so a
    browser test using this runs the JavaScript coaches actually get.
    """
    from core.static_storage import is_minified_here, minify, own_sources

    folders = []
    for n, source in enumerate(own_sources()):
        target = tmp_path / f"static-{n}"
        shutil.copytree(source, target)
        for path in source.rglob("*"):
            if path.is_file() and is_minified_here(path):
                (target / path.relative_to(source)).write_text(minify(path), encoding="utf-8")
        folders.append(target)
    settings.STATICFILES_DIRS = folders
    return folders
