"""PostgreSQL restarted while coaches submit, against gunicorn with production settings and a private cluster.

While the database is down the server answers 503 with a readable page (not a traceback); the task
page keeps the chosen answer selected and says it was not saved and to submit again; a network
drop says the same. Once the database is back the same Submit goes through, and the answer is
stored exactly once.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import psycopg
import pytest
from django.urls import reverse

from tests.conftest import ROOT
from tests.faults.services import PrivatePostgres, free_port, wait_for_port

PASSWORD = "pw-for-tests-123"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]

COACHES = 5
SEED = f"COACHES = {COACHES}\n" + textwrap.dedent(
    """
    import django
    django.setup()
    from studies.items import build_items
    from studies.models import Study
    from tests.factories import StudyFactory
    from tests.studies.conftest import make_coach, make_gallery

    sport, clips, queries, methods = make_gallery(n_queries=25)
    for name in ["pat", *(f"coach{n}" for n in range(COACHES))]:
        make_coach(name, sports=[sport])
    study = StudyFactory(
        title="Serve study", slug="serve", kinds="pairwise", depth_k=5, raters_per_item=1, seed=11, methods=methods
    )
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status="live")
    """
)


class Site:
    def __init__(self, pg: PrivatePostgres, base_url: str):
        self.pg = pg
        self.base_url = base_url

    def ensure_up(self) -> None:
        if not (self.pg.data / "postmaster.pid").exists():
            self.pg.start()

    def query(self, sql: str) -> list[tuple]:
        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=postgres") as conn:
            return conn.execute(sql).fetchall()

    def judgements(self, username: str) -> list[tuple]:
        return [
            row[1:]
            for row in self.query(
                "SELECT u.username, j.item_id, j.choice FROM annotations_judgement j "
                "JOIN auth_user u ON u.id = j.coach_id ORDER BY j.id"
            )
            if row[0] == username
        ]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A private PostgreSQL cluster with a live study, and gunicorn serving coachbench from it."""
    tmp_path = tmp_path_factory.mktemp("site")
    pg = PrivatePostgres().init()
    server = None
    try:
        pg.start()
        port = free_port()
        # Production settings (DEBUG off), as the 503 page matters there; plain HTTP on the loopback.
        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "VAR_DIR": str(tmp_path / "var"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "CELERY_BROKER_URL": "filesystem://",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        # The coach's pages need only coachbench's own static files (the admin's and the API docs' are big).
        collect = ["collectstatic", "--no-input", "-v0", "-i", "admin", "-i", "rest_framework", "-i", "drf_*"]
        steps = [
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            [sys.executable, "manage.py", *collect],
            [sys.executable, "-c", SEED],
        ]
        for step in steps:
            done = subprocess.run(step, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115 - the server owns it
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--threads", "4"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(port, timeout_s=60)
        yield Site(pg, f"http://127.0.0.1:{port}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        pg.remove()


@pytest.fixture
def page(monkeypatch) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


def _status_and_body(url: str, cookie: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.browser
def test_a_submit_while_postgresql_restarts_keeps_the_answer_and_goes_through_after(site, page, chromium_path):
    page.goto(site.base_url + reverse("login"))
    page.fill("input[name='username']", "pat")
    page.fill("input[name='password']", PASSWORD)
    page.click("button[type='submit'], input[type='submit']")
    page.goto(site.base_url + reverse("coach:continue", kwargs={"slug": "serve"}))
    page.wait_for_selector("[data-task]")
    task_url = page.url
    first_item = page.locator("[data-task] .task__query, [data-task]").first.inner_html()
    page.locator("label.choice").nth(1).click()  # the coach picks the second answer
    chosen = page.locator("input[name='choice']").nth(1).get_attribute("value")
    assert page.locator(f"input[name='choice'][value='{chosen}']").is_checked()
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())

    site.pg.stop()  # immediate: as on a crash or a failover
    try:
        _while_the_database_is_down(page, task_url, chosen, cookie)
    finally:
        site.ensure_up()
    page.click("[data-submit]")
    page.wait_for_function(
        "(before) => !document.querySelector('[data-save-error]') || document.location.href !== before",
        arg=task_url,
    )
    assert page.locator("[data-save-error]:visible").count() == 0
    assert page.locator("[data-task]").first.inner_html() != first_item or page.url != task_url
    stored = site.judgements("pat")
    assert len(stored) == 1
    assert stored[0][1] == chosen


def _while_the_database_is_down(page, task_url: str, chosen: str, cookie: str) -> None:
    # Any page that needs the database: a readable 503 saying to retry, never a traceback.
    status, body = _status_and_body(task_url, cookie)
    assert status == 503
    assert "try again" in body
    assert "Traceback" not in body
    assert "OperationalError" not in body

    # The coach submits: nothing is swapped, the answer stays chosen, and the page says to retry.
    page.click("[data-submit]")
    error = page.locator("[data-save-error]")
    error.wait_for(state="visible")
    assert "not saved" in error.inner_text()
    assert "Submit" in error.inner_text()
    assert page.url == task_url
    assert page.locator(f"input[name='choice'][value='{chosen}']").is_checked()
    assert page.locator("[data-submit]").is_enabled()

    # The network drops instead: the same, with words about the connection.
    page.context.set_offline(True)
    page.click("[data-submit]")
    page.wait_for_function("() => document.querySelector('[data-save-error]').textContent.includes('connection')")
    assert page.locator(f"input[name='choice'][value='{chosen}']").is_checked()
    page.context.set_offline(False)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 comes back as it is: it is the server's acknowledgement


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Send ``Secure`` cookies to http://127.0.0.1, as browsers do for the loopback (a trustworthy origin)."""

    def return_ok_secure(self, cookie, request) -> bool:
        return urllib.parse.urlsplit(request.get_full_url()).hostname == "127.0.0.1" or super().return_ok_secure(
            cookie, request
        )


class Coach:
    """A coach without JavaScript: plain form posts, as a browser without scripts sends them."""

    def __init__(self, base_url: str, username: str):
        self.base_url = base_url
        self.username = username
        self.jar = http.cookiejar.CookieJar(LoopbackIsSecure())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirects)
        self.acknowledged: set[str] = set()  # tokens whose submit the server confirmed
        self.retries = 0
        self.unexpected: list[str] = []

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Referer": self.base_url + path}
        try:
            with self.opener.open(urllib.request.Request(self.base_url + path, body, headers), timeout=30) as response:
                return response.status, response.read().decode(), response.headers.get("Location", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers.get("Location", "")

    def log_in(self) -> None:
        status, page, _ = self.request(reverse("login"))
        assert status == 200
        status, _, _ = self.request(
            reverse("login"), {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": _csrf(page)}
        )
        assert status == 302

    def work(self, stop: threading.Event, wanted: int) -> None:
        """Submit answers until ``wanted`` are acknowledged, retrying whatever the server could not take."""
        path = reverse("coach:continue", kwargs={"slug": "serve"})
        while len(self.acknowledged) < wanted and not stop.is_set():
            status, page, location = self.request(path)
            if status in (301, 302, 303):
                path = location
                continue
            if status == 503 and "try again" in page:
                self.retries += 1
                time.sleep(0.2)
                continue
            if status != 200 or "data-answer-form" not in page:
                self.unexpected.append(f"GET {path}: {status}")
                return
            token = path.rstrip("/").rsplit("/", 1)[-1]
            form = {"csrfmiddlewaretoken": _csrf(page), "choice": "left", "watch_left": "0", "watch_right": "0"}
            while not stop.is_set():
                status, page, location = self.request(path, form)
                if status == 303:
                    self.acknowledged.add(token)
                    path = location
                    break
                if status == 503 and "try again" in page:
                    self.retries += 1  # the coach reads "not saved, try again" and sends the same answer again
                    time.sleep(0.2)
                    continue
                self.unexpected.append(f"POST {path}: {status} {page[:200]}")
                return


def _csrf(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def test_coaches_submitting_through_a_postgresql_restart_lose_nothing_and_count_nothing_twice(site):
    coaches = [Coach(site.base_url, f"coach{n}") for n in range(COACHES)]
    for coach in coaches:
        coach.log_in()
    stop = threading.Event()
    threads = [threading.Thread(target=coach.work, args=(stop, 8)) for coach in coaches]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while sum(len(c.acknowledged) for c in coaches) < COACHES and time.monotonic() < deadline:
            time.sleep(0.05)
        site.pg.stop()  # while the coaches keep submitting
        time.sleep(1.5)
        site.ensure_up()
        for thread in threads:
            thread.join(60)
    finally:
        stop.set()
        site.ensure_up()

    assert [c.unexpected for c in coaches] == [[]] * COACHES
    assert all(len(c.acknowledged) == 8 for c in coaches)
    assert sum(c.retries for c in coaches) > 0  # the restart was felt, and answered with "try again"
    rows = site.query(
        "SELECT u.username, a.token, j.id FROM annotations_judgement j JOIN auth_user u ON u.id = j.coach_id "
        "JOIN studies_assignment a ON a.item_id = j.item_id AND a.coach_id = j.coach_id"
    )
    for coach in coaches:
        stored = [str(token) for username, token, _ in rows if username == coach.username]
        # Every acknowledged answer is stored, once; nothing unacknowledged slipped in.
        assert sorted(stored) == sorted(coach.acknowledged)
    over = site.query(
        "SELECT i.id FROM studies_item i JOIN annotations_judgement j ON j.item_id = i.id "
        "GROUP BY i.id, i.needed HAVING count(*) > i.needed"
    )
    assert over == []
