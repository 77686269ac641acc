"""A coach rates in a real browser: log in, judge by keyboard, flag, revise; videos really play.

Headless Debian Chromium driven by Playwright, against the app served by
pytest-django's ``live_server`` with real H.264 clips rendered on request.
Screenshots of both task kinds at laptop and tablet sizes go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from annotations.models import Judgement, JudgementRevision
from core.static_storage import minify
from studies.models import Item
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
)
from tests.browser.conftest import LAPTOP, PHONE, TABLET
from tests.studies.conftest import make_coach

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CLIP_S = 1.6


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("laptop", LAPTOP), ("tablet", TABLET), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let the layout settle after the resize
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(LAPTOP)


def _watch_everything(page) -> None:
    """Replay every video (r) and wait until each counts as watched to its end."""
    page.keyboard.press("r")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#task [data-player]')]"
        ".every(p => p.querySelector('[data-watched]').textContent.includes('watched'))",
        timeout=20_000,
    )


def _current_time(page, side: str) -> float:
    return page.eval_on_selector(f"#task [data-side='{side}'] video", "v => v.currentTime")


def test_a_coach_rates_flags_and_revises_by_keyboard(live_server, page, make_video, production_static):
    # The page's scripts and styles as production serves them: minified.
    served = page.request.get(live_server.url + "/static/js/player.js").text()
    assert served == minify(ROOT / "static" / "js" / "player.js")
    gallery = playable_gallery(make_video, clip_seconds=CLIP_S, n_clips=6, width=640, height=360)
    study = live_study(gallery, require_full_watch=True, show_narrations=True, raters_per_item=1)
    pairwise, likert, _ = add_items(study, gallery, ["pairwise", "likert", "likert"])
    Item.objects.filter(pk=pairwise.pk).update(swapped=True)
    make_coach("ana", sports=[gallery.sport])

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(live_server.url + reverse("login"))
    page.screenshot(path=str(ARTIFACTS / "coach-login-laptop.png"))
    page.fill("input[name='username']", "ana")
    page.fill("input[name='password']", "pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Serve corrections")
    page.screenshot(path=str(ARTIFACTS / "coach-home-laptop.png"))
    page.click("text=Start")
    page.wait_for_selector("text=How rating works")
    page.screenshot(path=str(ARTIFACTS / "coach-study-laptop.png"), full_page=True)
    page.click("text=Start rating")

    # Pairwise: the query autoplays; the keyboard does the rest.
    page.wait_for_selector("#task[data-kind='pairwise']")
    page.wait_for_function("() => document.querySelector(\"[data-side='query'] video\").currentTime > 0.2")
    first = _current_time(page, "query")
    page.wait_for_timeout(300)
    assert _current_time(page, "query") != first  # it plays (and loops)
    assert page.is_disabled("[data-submit]")  # nothing chosen, nothing watched yet
    page.evaluate("() => { window.noReloadMarker = 1; }")
    _watch_everything(page)
    page.keyboard.press("2")
    assert page.is_enabled("[data-submit]")
    page.keyboard.press("?")
    assert page.is_visible("#help-dialog")
    page.screenshot(path=str(ARTIFACTS / "coach-help-laptop.png"))
    page.keyboard.press("Escape")
    _screenshot(page, "coach-pairwise")
    pairwise_url = page.url
    page.keyboard.press("Enter")

    # Likert: swapped in without a page load, the address bar following.
    page.wait_for_selector("#task[data-kind='likert']")
    assert page.url != pairwise_url
    assert page.evaluate("() => window.noReloadMarker") == 1
    # Back goes to the answered item's address, which moves on to the item at hand.
    likert_url = page.url
    page.go_back()
    page.wait_for_url(likert_url)
    page.wait_for_selector("#task[data-kind='likert']")
    _watch_everything(page)
    page.keyboard.press("4")
    _screenshot(page, "coach-likert")
    page.keyboard.press("Enter")

    # The third item: flagged with the mouse (touch works the same way).
    page.wait_for_url(lambda url: url != likert_url)
    page.wait_for_selector("#task[data-kind='likert']")
    page.click("summary:has-text('Flag')")
    page.click('button:has-text("A video doesn\'t play")')
    page.wait_for_selector("text=Nothing left for you right now")
    page.screenshot(path=str(ARTIFACTS / "coach-done-laptop.png"))

    # Revise the pairwise answer from the history, again by keyboard.
    page.click("text=My answers")
    page.click("tr:has-text('Right clip helps more') >> text=Change")
    page.wait_for_selector("#task[data-kind='pairwise']")
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Your answer was changed")
    _screenshot(page, "coach-history")

    judgements = {j.item_id: j for j in Judgement.objects.all()}
    assert len(judgements) == 3
    revised = judgements[pairwise.pk]
    assert (revised.choice, revised.winner, revised.revision) == ("equal", "tie", 1)
    earlier = JudgementRevision.objects.get(judgement=revised)
    # "Right" on a swapped item is clip a.
    assert (earlier.choice, earlier.winner) == ("right", "a")
    for key in ("query", "a", "b"):
        assert revised.watch_ms[key] >= CLIP_S * 1000 - 160, revised.watch_ms
    assert judgements[likert.pk].score == 4
    assert judgements[likert.pk].watch_ms.keys() == {"query", "a"}
    flagged = [j for j in judgements.values() if j.flag]
    assert [j.flag for j in flagged] == ["no_playback"]
    assert all(j.server_ms > 0 for j in judgements.values())


def test_the_frame_step_keys_move_by_one_frame_of_the_source(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=CLIP_S, n_clips=2, fps=50)
    study = live_study(gallery, raters_per_item=1)
    add_items(study, gallery, ["likert"])
    make_coach("ana", sports=[gallery.sport])
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name='username']", "ana")
    page.fill("input[name='password']", "pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Serve corrections")
    page.goto(live_server.url + reverse("coach:continue", kwargs={"slug": study.slug}))
    page.wait_for_selector("#task[data-kind='likert']")
    assert page.get_attribute("#task [data-side='clip']", "data-frame-s") == "0.020000"
    page.wait_for_function("() => document.querySelector(\"#task [data-side='clip'] video\").readyState >= 2")
    page.click("#task [data-side='clip'] [data-act='fwd']")  # also makes it the player the keys act on
    start = _current_time(page, "clip")
    for _ in range(5):
        page.keyboard.press(".")
    page.wait_for_timeout(200)
    assert _current_time(page, "clip") - start == pytest.approx(5 * 0.02, abs=0.005)
    page.keyboard.press(",")
    page.wait_for_timeout(200)
    assert _current_time(page, "clip") - start == pytest.approx(4 * 0.02, abs=0.005)


def test_without_javascript_the_form_posts_and_redirects(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=320, height=180)
    study = live_study(gallery, raters_per_item=1)
    first, _ = add_items(study, gallery, ["likert", "likert"])
    make_coach("ana", sports=[gallery.sport])
    context = page.context.browser.new_context(java_script_enabled=False, viewport=TABLET)
    plain = context.new_page()
    plain.goto(live_server.url + reverse("login"))
    plain.fill("input[name='username']", "ana")
    plain.fill("input[name='password']", "pw-for-tests-123")
    plain.click("button:has-text('Log in')")
    plain.goto(live_server.url + reverse("coach:continue", args=[study.slug]))
    assert plain.get_attribute("#task video", "controls") is not None  # the browser's own controls
    task_url = plain.url
    plain.click("label.point:has-text('2')")
    plain.fill("textarea[name='rationale']", "Good cue, weak camera angle.")
    plain.screenshot(path=str(ARTIFACTS / "coach-likert-nojs-tablet.png"), full_page=True)
    plain.click("button[data-submit]")
    plain.wait_for_url(lambda url: url != task_url)
    assert "/task/" in plain.url
    judgement = Judgement.objects.get()
    assert (judgement.item_id, judgement.score, judgement.rationale) == (first.pk, 2, "Good cue, weak camera angle.")
    context.close()
