"""Simulated coaches for ``make loadtest``: each one works through the live study as the browser does.

A coach logs in (login form, CSRF token), opens the study from the home page,
continues to the task page, then loops: the players fetch the clips with HTTP
Range requests (``bytes=0-`` first, as Chromium's ``<video preload>`` does, and
now and then a seek's range further in), the coach watches and thinks, and
htmx posts the answer form with its fields and headers; the server answers with
the next task's panel and its address in ``HX-Push-Url``. Every few items the
coach takes a break and comes back through the study page and ``continue``.

Each submission the server acknowledged (a 200 that moved the page on) is
appended to ``LOADTEST_ACKS`` as a JSON line, so ``tests/load/run.py`` can check
afterwards that every one of them is in the database exactly once.

Configured by the environment (``run.py`` sets it): ``LOADTEST_STUDY``,
``LOADTEST_USERNAMES`` (comma-separated), ``LOADTEST_PASSWORD``, ``LOADTEST_ACKS``,
``LOADTEST_THINK`` ("5-15": seconds a coach spends on an item, uniform),
``LOADTEST_FLAG_RATE``, ``LOADTEST_RESEND_RATE``, ``LOADTEST_SEEK_RATE``.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import threading
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, events, task

STUDY = os.environ.get("LOADTEST_STUDY", "load-test")
USERNAMES = [name for name in os.environ.get("LOADTEST_USERNAMES", "").split(",") if name]
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "")
ACKS_PATH = os.environ.get("LOADTEST_ACKS", "")
STATS_PATH = os.environ.get("LOADTEST_STATS", "")
THINK_LOW, THINK_HIGH = (float(x) for x in os.environ.get("LOADTEST_THINK", "5-15").split("-"))
FLAG_RATE = float(os.environ.get("LOADTEST_FLAG_RATE", "0.02"))
RESEND_RATE = float(os.environ.get("LOADTEST_RESEND_RATE", "0.02"))
SEEK_RATE = float(os.environ.get("LOADTEST_SEEK_RATE", "0.25"))
# Items in a sitting before the coach steps away and comes back through the study page.
SITTING = (5, 15)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CSRF_HEADER = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")
_FORM_ACTION = re.compile(r'<form class="answer-form" method="post" action="([^"]+)"')
_PLAYER = re.compile(r'data-side="(\w+)" data-duration-ms="(\d+)".*?<video src="([^"]+)"', re.S)
_KIND = re.compile(r'data-task data-kind="(\w+)"')
_SCORE = re.compile(r'name="score" value="(-?\d+)"')
_ASSETS = re.compile(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"')

_names = itertools.cycle(USERNAMES or ["load-coach-001"])
_names_lock = threading.Lock()
_acks = open(ACKS_PATH, "a", buffering=1, encoding="utf-8") if ACKS_PATH else None  # noqa: SIM115 - for the run


class _BehindTls(DefaultCookiePolicy):
    """Send secure cookies over loopback HTTP: in production TLS ends at nginx, here nothing stands in front."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


def _next_username() -> str:
    with _names_lock:
        return next(_names)


@dataclass
class Screen:
    """What the coach's browser holds of the current task: the form and the players."""

    url: str
    action: str
    csrf: str
    kind: str
    players: list[tuple[str, int, str]] = field(default_factory=list)  # (side, duration_ms, src)
    scores: list[str] = field(default_factory=list)


def _screen(url: str, text: str) -> Screen | None:
    action = _FORM_ACTION.search(text)
    csrf = _CSRF_INPUT.search(text)
    kind = _KIND.search(text)
    if not (action and csrf and kind):
        return None
    players = [(side, int(ms), html.unescape(src)) for side, ms, src in _PLAYER.findall(text)]
    return Screen(url, html.unescape(action.group(1)), csrf.group(1), kind.group(1), players, _SCORE.findall(text))


class Coach(FastHttpUser):
    # The thinking happens inside the task, between fetching the clips and submitting.
    wait_time = staticmethod(lambda: 0)

    def on_start(self) -> None:
        self.username = _next_username()
        self.client.cookiejar.set_policy(_BehindTls())
        self.origin = f"https://{urlsplit(self.host).netloc}"
        self.csrf_header = ""
        self.screen: Screen | None = None
        self.previous: Screen | None = None
        self.done = False
        self.sitting_left = random.randint(*SITTING)
        self.logged_in = False

    # --- pages ------------------------------------------------------------------------------

    def headers(self, referer: str, extra: dict | None = None) -> dict:
        # As nginx in front adds it (TLS ends there), and as a browser sends Origin on a POST.
        return {"X-Forwarded-Proto": "https", "Referer": self.origin + referer, **(extra or {})}

    def page(self, url: str, name: str, referer: str, expect: int = 200, must_show: str = ""):
        with self.client.get(
            url, name=name, headers=self.headers(referer), allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"{url}: status {response.status_code}, expected {expect}")
                return None
            if must_show and must_show not in (response.text or ""):
                response.failure(f"{url} does not show {must_show!r}")
            if expect == 200 and not self.csrf_header:
                found = _CSRF_HEADER.search(response.text or "")
                if found:
                    self.csrf_header = found.group(1)
                    self.fetch_assets(response.text, url)
            return response

    def fetch_assets(self, text: str, referer: str) -> None:
        # Once per coach: hashed static names are cached by the browser for a year.
        for src in _ASSETS.findall(text):
            self.client.get(html.unescape(src), name="static file", headers=self.headers(referer))

    def log_in(self) -> bool:
        response = self.page("/accounts/login/", "login page", "/", must_show="csrfmiddlewaretoken")
        token = _CSRF_INPUT.search(response.text or "") if response else None
        if token is None:
            return False
        form = {"csrfmiddlewaretoken": token.group(1), "username": self.username, "password": PASSWORD, "next": ""}
        with self.client.post(
            "/accounts/login/",
            data=urlencode(form),
            name="log in",
            headers=self.headers("/accounts/login/", {**FORM, "Origin": self.origin}),
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"log in as {self.username}: status {response.status_code}")
                return False
        self.csrf_header = ""  # a log-in rotates the CSRF token
        self.page("/", "home", "/accounts/login/", must_show=f"/studies/{STUDY}/")
        return True

    def open_study(self, *, first: bool = False) -> None:
        study_url = f"/studies/{STUDY}/"
        if not first:
            self.page("/", "home", self.screen.url if self.screen else "/")
        self.page(study_url, "study page", "/")
        onward = self.page(f"{study_url}continue/", "continue", study_url, expect=302)
        if onward is None:
            self.screen = None
            return
        location = urlsplit(onward.headers.get("Location", "")).path
        if location.endswith("/done/"):
            self.done = True
            return
        self.open_task(location, referer=study_url)

    def open_task(self, url: str, referer: str) -> None:
        with self.client.get(
            url, name="task page", headers=self.headers(referer), allow_redirects=False, catch_response=True
        ) as response:
            screen = _screen(url, response.text or "") if response.status_code == 200 else None
            if screen is None:
                response.failure(f"task page {url}: status {response.status_code}, no answer form")
            self.screen = screen

    def fetch_clips(self) -> None:
        for _, _, src in self.screen.players:
            size = self.fetch_range(src, "bytes=0-")
            if size and random.random() < SEEK_RATE:
                self.fetch_range(src, f"bytes={size // 2}-")

    def fetch_range(self, src: str, byte_range: str) -> int:
        """One range request as the player sends it; returns the file's full size (0 on failure)."""
        start = int(byte_range[len("bytes=") : -1])
        with self.client.get(
            src,
            name="clip range",
            headers=self.headers(self.screen.url, {"Range": byte_range, "Accept-Encoding": "identity"}),
            catch_response=True,
        ) as response:
            content_range = response.headers.get("Content-Range", "") if response.headers else ""
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
            if response.status_code != 206 or not match:
                response.failure(f"{src} {byte_range}: status {response.status_code}, Content-Range {content_range!r}")
                return 0
            first, last, size = (int(g) for g in match.groups())
            if first != start or last != size - 1 or len(response.content or b"") != last - first + 1:
                response.failure(f"{src} {byte_range}: got {content_range} and {len(response.content or b'')} bytes")
                return 0
            return size

    # --- the work ---------------------------------------------------------------------------

    @task
    def judge(self) -> None:
        if not self.logged_in:
            # A coach whose log-in failed (a timeout on a busy server) tries again a little later.
            self.logged_in = self.log_in()
            if self.logged_in:
                self.open_study(first=True)
            else:
                self._sleep(THINK_HIGH)
            return
        if self.done:
            self.wait_a_while()
            return
        if self.screen is None:
            self.open_study()
            return
        self.fetch_clips()
        self._sleep(random.uniform(THINK_LOW, THINK_HIGH))  # watching the clips, deciding
        answer = self.answer()
        moved_to = self.submit(answer, name="submit")
        if moved_to is None:
            return
        if random.random() < RESEND_RATE:
            # The same POST again (a retry after a dropped connection): one judgement, and the same next item.
            again = self.submit(answer, name="submit (resent)", screen=self.previous)
            if again is not None and again != moved_to:
                self.environment.events.request.fire(
                    request_type="CHECK",
                    name="resent submit goes to the same next item",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError(f"first went to {moved_to}, the resend to {again}"),
                )
        self.sitting_left -= 1
        if self.sitting_left <= 0 and not self.done:
            self.sitting_left = random.randint(*SITTING)
            self.open_study()

    def wait_a_while(self) -> None:
        self._sleep(THINK_HIGH)

    def _sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)

    def answer(self) -> dict:
        screen = self.screen
        form = {"csrfmiddlewaretoken": screen.csrf, "rationale": ""}
        for side, duration_ms, _ in screen.players:
            form[f"watch_{side}"] = str(duration_ms)
        if screen.kind == "pairwise":
            form["choice"] = random.choice(["left", "right", "equal", "neither"])
        else:
            form["score"] = random.choice(screen.scores)
        if random.random() < 0.2:
            form["rationale"] = "Elbow drops before contact; the left drill fixes exactly that."
        if random.random() < FLAG_RATE:
            form["flag"] = random.choice(["no_playback", "cant_judge", "other"])
        return form

    def submit(self, form: dict, *, name: str, screen: Screen | None = None) -> str | None:
        """Post the answer as htmx does; returns the address the page moved on to (None on failure)."""
        screen = screen or self.screen
        headers = self.headers(
            screen.url,
            {
                **FORM,
                "Origin": self.origin,
                "HX-Request": "true",
                "HX-Current-URL": self.origin + screen.url,
                "HX-Target": "task",
                "X-CSRFToken": self.csrf_header,
            },
        )
        with self.client.post(
            screen.action, data=urlencode(form), name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as response:
            pushed = urlsplit(response.headers.get("HX-Push-Url", "") if response.headers else "").path
            if response.status_code != 200 or not pushed or pushed == screen.url:
                message = re.search(r'role="alert">([^<]+)<', response.text or "")
                response.failure(
                    f"submit {screen.url}: status {response.status_code}, HX-Push-Url {pushed!r}"
                    + (f", {html.unescape(message.group(1))}" if message else "")
                )
                self.screen = None  # reopen the study, as a coach would after an error
                return None
            text = response.text or ""
        self._record_ack(
            screen, form, saved="&#10003; Saved" in text or "\u2713 Saved" in text, resent=screen is not self.screen
        )
        self.previous = screen
        if pushed.endswith("/done/"):
            self.done = True
            self.screen = None
        else:
            self.screen = _screen(pushed, text)
            if self.screen is None:
                self.environment.events.request.fire(
                    request_type="CHECK",
                    name="submit answers with the next task's form",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError(f"no answer form in the panel for {pushed}"),
                )
        return pushed

    def _record_ack(self, screen: Screen, form: dict, *, saved: bool, resent: bool) -> None:
        if _acks is None:
            return
        token = screen.url.rstrip("/").rsplit("/", 1)[-1]
        record = {
            "coach": self.username,
            "token": token,
            "kind": screen.kind,
            "choice": form.get("choice", "") if not form.get("flag") else "",
            "score": int(form["score"]) if form.get("score") and not form.get("flag") else None,
            "flag": form.get("flag", ""),
            "saved": saved,
            "resent": resent,
        }
        _acks.write(json.dumps(record) + "\n")


@events.quitting.add_listener
def _write_stats(environment, **_kwargs) -> None:
    """Every endpoint's figures as JSON, once all requests are in (locust's CSV can miss the last seconds)."""
    if not STATS_PATH:
        return
    stats = environment.stats
    rows = []
    for entry in [*stats.entries.values(), stats.total]:
        rows.append(
            {
                "name": entry.name,
                "method": entry.method or "",
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "p50": entry.get_response_time_percentile(0.5),
                "p95": entry.get_response_time_percentile(0.95),
                "p99": entry.get_response_time_percentile(0.99),
                "max": entry.max_response_time or 0,
                "seconds": max(1e-9, (entry.last_request_timestamp or 0) - (entry.start_time or 0)),
            }
        )
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in stats.errors.values()
    ]
    with open(STATS_PATH, "w", encoding="utf-8") as handle:
        json.dump({"endpoints": rows, "errors": errors}, handle)
