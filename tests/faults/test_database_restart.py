"""PostgreSQL restarted while a coach submits, against a real gunicorn server and a private cluster.

While the database is down the server answers 503 with a readable page (not a traceback); the task
page keeps the chosen answer selected and says it was not saved and to submit again; a network
drop says the same. Once the database is back the same Submit goes through, and the answer is
stored exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.urls import reverse

from tests.conftest import ROOT
from tests.faults.services import PrivatePostgres, free_port, wait_for_port

pytestmark = [pytest.mark.browser]

PASSWORD = "pw-for-tests-123"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]

SEED = textwrap.dedent(
    """
    import django
    django.setup()
    from studies.items import build_items
    from studies.models import Study
    from tests.studies.conftest import make_coach, make_gallery

    sport, clips, queries, methods = make_gallery(n_queries=2)
    make_coach("pat", sports=[sport])
    study = Study.objects.create(
        title="Serve study", slug="serve", kinds="pairwise", depth_k=5, raters_per_item=1, seed=11
    )
    study.methods.set(methods)
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status="live")
    """
)


class Site:
    def __init__(self, pg: PrivatePostgres, base_url: str):
        self.pg = pg
        self.base_url = base_url

    def judgements(self) -> list[tuple]:
        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=postgres") as conn:
            return conn.execute("SELECT item_id, choice FROM annotations_judgement ORDER BY id").fetchall()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A private PostgreSQL cluster with a live study, and gunicorn serving coachbench from it."""
    pg = PrivatePostgres().init()
    server = None
    try:
        pg.start()
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": pg.url,
            "VAR_DIR": str(tmp_path / "var"),
            "CELERY_BROKER_URL": "filesystem://",
            "DEBUG": "1",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        for step in ([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], [sys.executable, "-c", SEED]):
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

    site.pg.start()
    page.click("[data-submit]")
    page.wait_for_function(
        "(before) => !document.querySelector('[data-save-error]') || document.location.href !== before",
        arg=task_url,
    )
    assert page.locator("[data-save-error]").count() <= 1
    assert page.locator("[data-save-error]:visible").count() == 0
    assert page.locator("[data-task]").first.inner_html() != first_item or page.url != task_url
    stored = site.judgements()
    assert len(stored) == 1
    assert stored[0][1] == chosen
