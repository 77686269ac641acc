"""The Content Security Policy in a real browser: no page breaks it, and the pages still work under it.

Chromium reports every blocked inline script, handler, style or foreign resource as a
``securitypolicyviolation`` event (and a console error). The coach's pages (with htmx
swapping the next item in), the study's results report with its figures, the admin
and both API documentation viewers are loaded and used; none may report one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from annotations.models import Judgement
from annotations.research.reports import refresh_report
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
)
from tests.factories import UserFactory
from tests.studies.conftest import make_coach

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Installed before any page script runs, in every document the page loads.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
    + `at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(autouse=True)
def _no_proxy_for_localhost(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def page(monkeypatch) -> Iterator:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--headless", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(30_000)
        page.add_init_script(RECORD_VIOLATIONS)
        console_errors: list[str] = []
        page.on(
            "console",
            lambda message: (
                console_errors.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        page.console_csp_errors = console_errors
        try:
            yield page
        finally:
            browser.close()
            connections.close_all()


def _assert_no_violations(page, where: str, *, expected: tuple[str, ...] = ()) -> None:
    page.wait_for_timeout(200)  # violations are reported asynchronously
    violations = [v for v in page.evaluate("() => window.__cspViolations || []") if not any(e in v for e in expected)]
    assert violations == [], f"{where}: {violations}"
    console = [m for m in page.console_csp_errors if not any(e.split(" blocked ")[-1] in m for e in expected)]
    assert console == [], f"{where}: {console}"


def _log_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("input[name='username']", username)
    page.fill("input[name='password']", PASSWORD)
    page.keyboard.press("Enter")


def test_coach_pages_keep_working_under_the_policy(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=320, height=180)
    study = live_study(gallery, raters_per_item=1, require_full_watch=False)
    first, second = add_items(study, gallery, ["likert", "pairwise"])
    make_coach("ana", sports=[gallery.sport])

    _log_in(page, live_server.url + reverse("login"), "ana")
    page.wait_for_selector("text=Serve corrections")
    header = page.request.get(live_server.url + reverse("coach:home")).headers["content-security-policy"]
    assert "script-src 'self'" in header
    assert "unsafe-inline" not in header
    _assert_no_violations(page, "coach home")
    page.click("text=Start")
    page.wait_for_selector("text=How rating works")
    _assert_no_violations(page, "study page")
    page.click("text=Start rating")

    # The task page: players, keyboard shortcuts and htmx all run from static files.
    page.wait_for_selector("#task[data-kind='likert']")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "csp-task-likert.png"), full_page=True)
    page.wait_for_function("() => document.querySelector(\"[data-side='query'] video\").currentTime > 0.1")
    assert page.eval_on_selector("#task [data-side='query']", "el => el.style.getPropertyValue('--ar')")
    page.evaluate("() => { window.noReloadMarker = 1; }")
    page.keyboard.press("4")
    page.keyboard.press("Enter")
    # The next item is swapped in by htmx (no page load), and the answer was recorded.
    page.wait_for_selector("#task[data-kind='pairwise']")
    assert page.evaluate("() => window.noReloadMarker") == 1
    assert Judgement.objects.get(item=first).score == 4
    _assert_no_violations(page, "task page")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "csp-task-pairwise.png"), full_page=True)
    page.keyboard.press("?")
    assert page.is_visible("#help-dialog")
    page.keyboard.press("Escape")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Nothing left for you right now")
    assert Judgement.objects.get(item=second).choice == "equal"
    _assert_no_violations(page, "after the last answer")
    page.click("text=My answers")
    page.wait_for_selector("text=Change")
    _assert_no_violations(page, "history")


def test_admin_report_and_api_docs_keep_working_under_the_policy(live_server, page):
    judged = open_study(n_queries=2)
    judge_everything(judged, prefer(judged, ["beta", "alpha"], tie_every=5))
    refresh_report(judged.study.pk, force=True, bootstrap=50)
    UserFactory(username="boss", email="boss@example.org", password=PASSWORD, superuser=True)

    _log_in(page, live_server.url + reverse("admin:login"), "boss")
    page.wait_for_selector("text=Studies, gallery and methods")
    _assert_no_violations(page, "admin index")
    for name, url in [
        ("study list", reverse("admin:studies_study_changelist")),
        ("study form", reverse("admin:studies_study_change", args=[judged.study.pk])),
        ("new study form", reverse("admin:studies_study_add")),
        ("progress", reverse("admin:studies_study_progress", args=[judged.study.pk])),
        ("jobs", reverse("admin:core_job_changelist")),
        ("judgements", reverse("admin:annotations_judgement_changelist")),
    ]:
        page.goto(live_server.url + url)
        page.wait_for_selector("#content")
        _assert_no_violations(page, name)

    # The report: its figures are inline SVG, drawn with attributes instead of style= (which the policy blocks).
    page.goto(live_server.url + reverse("admin:studies_study_report", args=[judged.study.pk]))
    page.wait_for_selector("text=Leaderboard")
    assert page.locator(".report-figure svg").count() >= 4
    # A bar of the leaderboard keeps its colour: not the black that a blocked style= would leave.
    fills = page.eval_on_selector_all(
        ".report-figure svg path[fill]", "paths => paths.map(p => getComputedStyle(p).fill)"
    )
    assert any(fill not in {"rgb(0, 0, 0)", "none"} for fill in fills)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "csp-report.png"))
    _assert_no_violations(page, "report")

    page.goto(live_server.url + reverse("api-docs"))
    page.wait_for_selector(".swagger-ui .info .title:has-text('coachbench API')")
    page.wait_for_selector(".opblock")  # the operations, read from the schema
    _assert_no_violations(page, "Swagger UI")

    page.goto(live_server.url + reverse("api-redoc"))
    page.wait_for_selector("h1:has-text('coachbench API')")
    page.wait_for_selector("h2:has-text('auth_token_create')")  # an operation, read from the schema
    # ReDoc's bundle hard-codes its maker's logo from their CDN in the menu's footer: the policy keeps
    # that request from leaving the site (ReDoc then hides the image). Nothing else may be blocked.
    _assert_no_violations(page, "ReDoc", expected=("img-src blocked https://cdn.redoc.ly/redoc/logo-mini.svg",))
