"""The coach's way in, in headless Chromium: the focus on arrival, and no page that logs a console error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _focused(page) -> str:
    return page.evaluate("() => document.activeElement.textContent.trim()")


def test_enter_on_arrival_opens_the_study_and_no_coach_page_logs_a_console_error(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=320, height=180)
    study = live_study(gallery, raters_per_item=1)
    add_items(study, gallery, ["pairwise", "likert"])
    make_coach("ana", sports=[gallery.sport])
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    base = live_server.url

    page.goto(base + reverse("login"))
    page.fill("input[name='username']", "ana")
    page.fill("input[name='password']", "pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Serve corrections")
    # The first study's Start has the focus: Enter opens its instructions, and Enter again the first item.
    assert _focused(page) == "Start"
    page.keyboard.press("Enter")
    page.wait_for_url(base + reverse("coach:study", args=[study.slug]))
    page.wait_for_function("() => document.activeElement.matches('[data-focus-on-arrival]')")
    assert page.evaluate("() => window.scrollY") == 0  # the instructions are read from the top
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-kind='pairwise']")
    page.wait_for_function("() => [...document.querySelectorAll('#task video')].every(v => v.readyState >= 2)")
    page.wait_for_function("() => document.querySelectorAll('#preload video').length === 2")

    # Back home, after this first visit the button goes straight on to the item.
    page.goto(base + reverse("coach:home"))
    assert _focused(page) == "Continue"
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-kind='pairwise']")

    for name in ("coach:history", "password_change"):
        page.goto(base + reverse(name))
        page.wait_for_load_state("load")
    page.goto(base + "/accounts/logout/")
    page.click("button:has-text('Log out')")
    page.wait_for_selector("text=You are logged out")
    page.wait_for_timeout(300)  # a late icon or script error would arrive now
    assert problems == []
