"""The coach's pages fit a laptop, a tablet held sideways and a phone, in headless Chromium.

One test per screen: 1366x768 with a mouse, 1024x768 and 390x844 with touch emulated. Each
asserts what a coach relies on there: the whole item (the athlete's video, the clips, the answers,
Submit) in view without scrolling where the screen allows it, Submit always in view on a phone,
targets a finger can hit (44x44 CSS px), no sideways scrolling, videos shown at their own shape,
and clips that answer a tap. Screenshots of the task page at each size go to var/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from tests.annotations.rating_setup import (
    add_items,
    fast_password_hashing,  # noqa: F401 - autouse
    live_study,
    playable_gallery,
)
from tests.browser.conftest import LAPTOP, PHONE
from tests.studies.conftest import make_coach

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
TABLET_LANDSCAPE = {"width": 1024, "height": 768}
SCREENS = {
    "laptop": {"viewport": LAPTOP},
    "tablet": {"viewport": TABLET_LANDSCAPE, "has_touch": True, "is_mobile": True},
    "phone": {"viewport": PHONE, "has_touch": True, "is_mobile": True},
}
# What a finger or a mouse presses; links inside running text are exempt, as WCAG 2.5.8 allows.
TARGETS = "button, a.btn, .topbar a, select, input[type='range'], summary, label.choice, label.point, textarea"

_OUT_OF_VIEW = """selector => [...document.querySelectorAll(selector)].filter(el => {
  const r = el.getBoundingClientRect();
  return r.top < 0 || r.left < 0 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5 || !r.width;
}).map(el => { const r = el.getBoundingClientRect();
  const at = [r.left, r.top, r.right, r.bottom].map(Math.round).join(',');
  return `${at} in ${innerWidth}x${innerHeight} ${el.outerHTML.slice(0, 60)}`;
})"""

_SMALL_TARGETS = """([scope, selector]) => [...document.querySelectorAll(scope)]
  .flatMap(s => [...s.querySelectorAll(selector)])
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => r.width < 44 || r.height < 44)
  .map(([el, r]) => `${Math.round(r.width)}x${Math.round(r.height)} ${el.outerHTML.slice(0, 70)}`)"""

# How much of each video's box the picture fills (the rest is black bars), from the decoded frame size.
_PICTURE_SHARE = """() => [...document.querySelectorAll('#task video')].map(v => {
  const r = v.getBoundingClientRect(), ar = v.videoWidth / v.videoHeight;
  const w = Math.min(r.width, r.height * ar), h = Math.min(r.height, r.width / ar);
  return Math.round((w * h) / (r.width * r.height) * 100) / 100;
})"""


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")


def _out_of_view(page, selector: str) -> list[str]:
    return page.evaluate(_OUT_OF_VIEW, selector)


def _small_targets(page, scope: str = "body") -> list[str]:
    return page.evaluate(_SMALL_TARGETS, [scope, TARGETS])


def _wait_for_videos(page) -> None:
    page.wait_for_function("() => [...document.querySelectorAll('#task video')].every(v => v.readyState >= 2)")
    page.wait_for_timeout(150)  # the players have set each box's shape from the decoded frame


def _facts(page, label: str, kind: str) -> str:
    box = page.evaluate(
        "() => { const s = document.querySelector('[data-submit]').getBoundingClientRect();"
        " return [Math.round(s.top), Math.round(s.bottom), document.documentElement.scrollHeight]; }"
    )
    share = page.evaluate(_PICTURE_SHARE)
    return f"{label} {kind}: Submit at y={box[0]}-{box[1]}, page {box[2]} px tall, picture share of video boxes {share}"


@pytest.mark.parametrize("label", list(SCREENS))
def test_the_coach_pages_fit_the_screen(label, live_server, page, make_video):
    screen = SCREENS[label]
    touch = bool(screen.get("has_touch"))
    gallery = playable_gallery(make_video, clip_seconds=1.2, n_clips=4, width=640, height=360)
    study = live_study(gallery, raters_per_item=1, require_full_watch=False, show_narrations=True)
    add_items(study, gallery, ["pairwise", "likert"])
    make_coach("ana", sports=[gallery.sport])
    context = page.context.browser.new_context(**screen)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    facts: list[str] = []

    tab.goto(live_server.url + reverse("login"))
    tab.fill("input[name='username']", "ana")
    tab.fill("input[name='password']", "pw-for-tests-123")
    tab.click("button:has-text('Log in')")
    tab.wait_for_selector("text=Serve corrections")
    assert _no_sideways_scroll(tab), "the home page scrolls sideways"
    assert _out_of_view(tab, ".study-card .btn") == []
    if touch:
        assert _small_targets(tab) == []

    # The pairwise item: everything for it in view at once, except on a phone where Submit stays pinned.
    tab.goto(live_server.url + reverse("coach:continue", args=[study.slug]))
    tab.wait_for_selector("#task[data-kind='pairwise']")
    _wait_for_videos(tab)
    assert _no_sideways_scroll(tab), "the pairwise page scrolls sideways"
    answer = "#task label.choice, #task [data-submit]"
    if label == "phone":
        assert _out_of_view(tab, answer + ", [data-side='query'] video") == []
    else:
        assert _out_of_view(tab, answer + ", #task video") == []
        assert min(tab.evaluate(_PICTURE_SHARE)) >= 0.9  # the boxes have the clips' shape, not black bars
    # Every control of the item is a 44x44 target, with a mouse too; on a touch screen the whole page is.
    assert _small_targets(tab, "body" if touch else "#task") == []
    # The keyboard's help is for keyboards: a touch screen shows neither its button nor the key caps.
    assert tab.is_visible("[data-help]") is not touch
    assert tab.is_visible("label.choice kbd") is not touch
    facts.append(_facts(tab, label, "pairwise"))
    tab.screenshot(path=str(SCREENSHOTS / f"task-pairwise-{label}.png"))
    if label == "phone":
        tab.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        tab.screenshot(path=str(SCREENSHOTS / f"task-pairwise-{label}-scrolled.png"))
        assert _out_of_view(tab, answer + ", [data-side='right'] video") == []

    if touch:
        # A tap on a clip plays it and another pauses it; its button shows it full screen, and again leaves.
        clip = "#task [data-side='left'] video"
        tab.tap(clip)
        tab.wait_for_function(f'() => !document.querySelector("{clip}").paused')
        tab.tap(clip)
        tab.wait_for_function(f'() => document.querySelector("{clip}").paused')
        tab.tap("#task [data-side='left'] [data-act='full']")
        tab.wait_for_function("() => document.fullscreenElement?.dataset.side === 'left'")
        tab.tap("#task [data-side='left'] [data-act='full']")
        tab.wait_for_function("() => document.fullscreenElement === null")

    tab.click("#task label.choice--left")
    tab.click("[data-submit]")

    # The Likert item: the clip, the scale and Submit in view.
    tab.wait_for_selector("#task[data-kind='likert']")
    _wait_for_videos(tab)
    assert _no_sideways_scroll(tab), "the Likert page scrolls sideways"
    answer = "#task label.point, #task [data-submit]"
    if label == "phone":
        assert _out_of_view(tab, answer + ", [data-side='query'] video") == []
    else:
        assert _out_of_view(tab, answer + ", #task video") == []
        assert min(tab.evaluate(_PICTURE_SHARE)) >= 0.9
    assert _small_targets(tab, "#task") == []
    facts.append(_facts(tab, label, "likert"))
    tab.screenshot(path=str(SCREENSHOTS / f"task-likert-{label}.png"))
    tab.click("#task label.point:has-text('4')")
    tab.click("[data-submit]")
    tab.wait_for_selector("text=Nothing left for you right now")

    # "My answers": cards on a phone, never wider than the screen.
    tab.goto(live_server.url + reverse("coach:history"))
    tab.wait_for_selector("text=Left clip helps more")
    assert _no_sideways_scroll(tab), "the history page scrolls sideways"
    assert _out_of_view(tab, ".history tbody tr") == []
    if touch:
        assert _small_targets(tab) == []
    tab.screenshot(path=str(SCREENSHOTS / f"history-{label}.png"), full_page=True)
    context.close()
    print("\n" + "\n".join(facts))
