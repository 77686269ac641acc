"""The next item's clips load while the coach judges this one, and play at once when it is swapped in.

Headless Debian Chromium (Playwright) against ``live_server``: every request the page
makes is recorded, so the test can tell that the next item's clip bytes arrived
before the coach submitted, and that the new item's players are the very video
elements that preloaded them.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.models import Judgement
from studies.models import Assignment
from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
)
from tests.studies.conftest import make_coach

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _clip_urls(token: str, sides: tuple[str, ...]) -> list[str]:
    return [reverse("coach:task_video", kwargs={"token": token, "side": side}) for side in sides]


def test_the_next_items_clips_load_before_submitting_and_play_at_once_after(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.2, n_clips=6, width=320, height=180)
    study = live_study(gallery, raters_per_item=1)
    add_items(study, gallery, ["pairwise", "likert", "likert"])
    make_coach("ana", sports=[gallery.sport])

    events: list[tuple[str, str, str]] = []  # (what, method, path), in the order the browser saw them
    base = live_server.url

    def record(kind):
        def on(request):
            events.append((kind, request.method, request.url.removeprefix(base)))

        return on

    page.on("request", record("sent"))
    page.on("requestfinished", record("received"))
    page.goto(base + reverse("login"))
    page.fill("input[name='username']", "ana")
    page.fill("input[name='password']", "pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Serve corrections")
    page.goto(base + reverse("coach:continue", args=[study.slug]))
    page.wait_for_selector("#task[data-kind='pairwise']")
    current_url = page.url.removeprefix(base)

    # Once this item's clips can play, the page reserves the next item and its clips start loading, unseen.
    page.wait_for_function(
        "() => { const v = [...document.querySelectorAll('#preload video')];"
        " return v.length === 2 && v.every(x => x.readyState >= 3); }"
    )
    upcoming = Assignment.objects.get(status=Assignment.Status.UPCOMING)
    ahead = _clip_urls(upcoming.token, ("query", "clip"))
    assert page.eval_on_selector_all("#preload video", "vs => vs.map(v => v.getAttribute('src'))") == ahead
    assert not page.is_visible("#preload video")
    page.evaluate("() => document.querySelectorAll('#preload video').forEach(v => { v.preloadedHere = true; })")

    page.keyboard.press("1")
    submitted_at = len(events)
    page.keyboard.press("Enter")
    page.wait_for_selector("#task[data-kind='likert']")
    page.wait_for_url(base + f"/task/{upcoming.token}/")

    submit_at = events.index(("sent", "POST", current_url), 0)
    assert submit_at >= submitted_at
    for url in ahead:
        # The clip's bytes had arrived before the answer was even sent.
        assert ("received", "GET", url) in events[:submit_at], (url, events)
    # The new item's players are the videos that preloaded: nothing started loading from scratch.
    assert page.eval_on_selector_all("#task video", "vs => vs.map(v => v.getAttribute('src'))") == ahead
    assert page.eval_on_selector_all("#task video", "vs => vs.every(v => v.preloadedHere === true)")
    # And they play: the athlete's clip starts by itself, the clip on replay.
    page.wait_for_function("() => document.querySelector(\"#task [data-side='query'] video\").currentTime > 0.2")
    first = page.eval_on_selector("#task [data-side='query'] video", "v => v.currentTime")
    page.wait_for_timeout(300)
    assert page.eval_on_selector("#task [data-side='query'] video", "v => v.currentTime") != first
    page.keyboard.press("r")
    page.wait_for_function("() => document.querySelector(\"#task [data-side='clip'] video\").currentTime > 0.2")
    assert page.eval_on_selector("#task [data-side='clip'] video", "v => v.controls") is False  # our bar, not the UA's

    # The new item looks ahead in turn, to the last item.
    page.wait_for_function("() => document.querySelectorAll('#preload video').length === 2")
    third = Assignment.objects.get(status=Assignment.Status.UPCOMING)
    assert third.pk != upcoming.pk
    assert page.eval_on_selector_all("#preload video", "vs => vs.map(v => v.getAttribute('src'))") == _clip_urls(
        third.token, ("query", "clip")
    )
    assert Judgement.objects.get().choice == "left"
    assert Assignment.objects.get(pk=upcoming.pk).status == Assignment.Status.RESERVED


def test_a_refused_answer_keeps_the_preloaded_clips_and_the_last_item_ends_cleanly(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.0, n_clips=4, width=320, height=180)
    study = live_study(gallery, raters_per_item=1, require_full_watch=True)
    add_items(study, gallery, ["likert", "likert"])
    make_coach("ana", sports=[gallery.sport])
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name='username']", "ana")
    page.fill("input[name='password']", "pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Serve corrections")
    page.goto(live_server.url + reverse("coach:continue", args=[study.slug]))
    page.wait_for_selector("#task[data-kind='likert']")
    page.wait_for_function("() => document.querySelectorAll('#preload video').length === 2")
    page.evaluate("() => document.querySelectorAll('#preload video').forEach(v => { v.preloadedHere = true; })")
    # An answer sent before the clips were watched (past the page's own check) is refused and the item shown
    # again: the next item's clips stay where they are, loaded, and are not asked for twice.
    page.keyboard.press("3")
    page.evaluate("() => document.querySelector('[data-answer-form]').requestSubmit()")
    page.wait_for_selector("text=Still to watch")
    page.wait_for_timeout(300)
    assert page.eval_on_selector_all("#preload video", "vs => vs.length === 2 && vs.every(v => v.preloadedHere)")
    assert Assignment.objects.filter(status=Assignment.Status.UPCOMING).count() == 1
    assert not Judgement.objects.exists()
    # A flag needs no watching; the swapped-in item is the one preloaded, on the elements that loaded it.
    page.click("summary:has-text('Flag')")
    page.click("button:has-text('I can')")
    page.wait_for_function("() => document.querySelector('#task video')?.preloadedHere === true")
    assert page.eval_on_selector_all("#task video", "vs => vs.every(v => v.preloadedHere === true)")
    # The last item: there is nothing to look ahead to, and the done page follows it.
    page.wait_for_timeout(500)
    assert page.eval_on_selector_all("#preload video", "vs => vs.length") == 0
    assert not Assignment.objects.filter(status=Assignment.Status.UPCOMING).exists()


def test_a_preloaded_clip_keeps_its_decoded_data_when_its_item_appears(live_server, page, make_video):
    gallery = playable_gallery(make_video, clip_seconds=1.2, n_clips=4, width=320, height=180)
    study = live_study(gallery, raters_per_item=1)
    add_items(study, gallery, ["likert", "likert"])
    make_coach("ana", sports=[gallery.sport])
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name='username']", "ana")
    page.fill("input[name='password']", "pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Serve corrections")
    page.goto(live_server.url + reverse("coach:continue", args=[study.slug]))
    page.wait_for_selector("#task[data-kind='likert']")
    page.wait_for_function(
        "() => { const v = [...document.querySelectorAll('#preload video')];"
        " return v.length === 2 && v.every(x => x.readyState >= 3); }"
    )
    # Watch the preloaded videos: an `emptied` event means their media load started over. Right after the
    # swap (this listener runs after player.js's own), note how much each of the new item's videos holds.
    page.evaluate(
        """() => {
          window.emptied = 0;
          document.querySelectorAll('#preload video').forEach(v => {
            v.preloadedHere = true;
            v.addEventListener('emptied', () => { window.emptied += 1; });
          });
          document.addEventListener('htmx:afterSwap', () => {
            const videos = [...document.querySelectorAll('#task video')];
            if (videos.every(v => v.preloadedHere)) window.atSwap = videos.map(v => v.readyState);
          });
        }"""
    )
    first_token = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => !location.pathname.includes('{first_token}') && window.atSwap")
    # HAVE_CURRENT_DATA (2) or better at once: the new item's first frame is there to show, nothing refetched.
    at_swap = page.evaluate("() => window.atSwap")
    assert len(at_swap) == 2
    assert min(at_swap) >= 2, at_swap
    assert page.evaluate("() => window.emptied") == 0
    assert page.eval_on_selector_all("#task video", "vs => vs.every(v => v.preloadedHere && v.readyState >= 2)")
