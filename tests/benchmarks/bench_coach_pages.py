"""Coach pages: server time and SQL queries for the task page and the submit, at 100 and 100,000 items.

Goal (issue 5): under 15 ms p50 for both, the same number of queries whatever
the study's size, and a task page under 100 kB without its videos (HTML, CSS,
JavaScript including htmx, as production serves them: minified when collected).
Requests go through Django's full stack (sessions, CSRF, auth, htmx middleware)
in-process with the test client; no network, no video bytes. Works on SQLite
and PostgreSQL, in a scratch database created next to the configured one and
dropped afterwards.

Each submit follows a look-ahead, as in the browser (the page reserves the next
item once its clips can play), so the submit hands that reservation over; the
look-ahead request itself is timed on its own line.
"""

from __future__ import annotations

import gzip
import random
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

SIZES = (100, 100_000)
PAGE_VIEWS = 200
SUBMITS = 200
ROUNDS = 5
COACHES = 11
HTMX = {"HTTP_HX_REQUEST": "true"}


def _populate(n_items: int, tag: str):
    from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Sport, Video
    from studies.models import CoachProfile, Item, Study

    sport, _ = Sport.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    video = Video.objects.create(
        sport=sport, source_uri=f"/bench/{tag}.mp4", duration_s=10_000, width=1280, height=720, probe_status="ok"
    )
    clips = Clip.objects.bulk_create(
        Clip(video=video, sport=sport, external_id=f"{tag}-c{i}", start_s=i, end_s=i + 3, narration="n")
        for i in range(2000)
    )
    queries = MistakeQuery.objects.bulk_create(
        MistakeQuery(video=video, sport=sport, external_id=f"{tag}-q{i}", start_s=0, end_s=3, mistake=f"Mistake {i}")
        for i in range(1000)
    )
    methods = [RetrievalMethod.objects.create(name=f"{tag}-m{i}", backend="random") for i in range(2)]
    study = Study.objects.create(
        title=f"Bench {n_items:,}",
        slug=f"bench-{tag}",
        status="live",
        raters_per_item=3,
        instructions="Judge **technique**.",
        show_narrations=True,
    )
    study.methods.set(methods)
    rng = random.Random(n_items)
    Item.objects.bulk_create(
        (
            Item(
                study=study,
                kind="pairwise" if i % 2 else "likert",
                key=f"k{i}",
                query=queries[i % len(queries)],
                clip_a=clips[rng.randrange(len(clips))],
                clip_b=clips[rng.randrange(len(clips))] if i % 2 else None,
                swapped=bool(i % 4 == 1),
                needed=3,
                order_key=rng.randrange(2**31),
            )
            for i in range(n_items)
        ),
        batch_size=5000,
    )
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{tag}-coach{i}", password="!") for i in range(COACHES)
    )
    CoachProfile.objects.bulk_create(CoachProfile(user=u, years_coaching=5) for u in users)
    if connection.vendor == "postgresql":
        # Planner statistics, as autovacuum would have gathered them on a real installation.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return study, users


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000
    return f"p50 {p50:5.1f} ms  p95 {p95:5.1f} ms"


def _answer_for(response_html: str) -> dict[str, str]:
    return {"choice": "left"} if 'data-kind="pairwise"' in response_html else {"score": "3"}


class Bench:
    """One study's coaches, each holding a reservation, with the samples taken so far."""

    def __init__(self, study, users):
        from studies.assignment import next_assignment_for

        self.study = study
        self.clients, self.urls, self.pages = [], [], []
        for user in users:
            client = Client()
            client.force_login(user)
            url = f"/task/{next_assignment_for(user, study).token}/"
            self.clients.append(client)
            self.urls.append(url)
            self.pages.append(client.get(url).content.decode())  # warm: templates, the open-items count
        self.page_times: list[float] = []
        self.submit_times: list[float] = []
        self.ahead_times: list[float] = []
        self.next_coach = 0

    def view_pages(self, n: int) -> None:
        client, url = self.clients[0], self.urls[0]
        for _ in range(n):
            t0 = time.perf_counter()
            response = client.get(url)
            self.page_times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code

    def submit(self, n: int) -> None:
        # Coaches 1..N take turns, so no coach runs out of items in the small study.
        for _ in range(n):
            k = 1 + self.next_coach % (len(self.clients) - 1)
            self.next_coach += 1
            self.look_ahead(k)
            t0 = time.perf_counter()
            response = self.clients[k].post(self.urls[k], _answer_for(self.pages[k]), **HTMX)
            self.submit_times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content[:300]
            self.urls[k], self.pages[k] = response["HX-Push-Url"], response.content.decode()

    def look_ahead(self, k: int) -> None:
        """What the page does once the item's clips can play: reserve the next item, get its clips' URLs."""
        t0 = time.perf_counter()
        response = self.clients[k].post(self.urls[k].rstrip("/") + "/ahead/", **HTMX)
        self.ahead_times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code

    def count_queries(self) -> tuple[int, int, int, bytes]:
        # Refresh the open-items count first (cached a minute, as is each coach's count of what is left),
        # so both sizes are counted in the steady state.
        self.clients[0].get(self.urls[0])
        with CaptureQueriesContext(connection) as page_queries:
            page = self.clients[0].get(self.urls[0])
        k = 1
        self.clients[k].get(self.urls[k])  # and coach k's count of what is left for them (also a minute)
        with CaptureQueriesContext(connection) as ahead_queries:
            self.clients[k].post(self.urls[k].rstrip("/") + "/ahead/", **HTMX)
        with CaptureQueriesContext(connection) as submit_queries:
            response = self.clients[k].post(self.urls[k], _answer_for(self.pages[k]), **HTMX)
        self.urls[k], self.pages[k] = response["HX-Push-Url"], response.content.decode()
        return len(page_queries), len(ahead_queries), len(submit_queries), page.content


def _static_bytes(paths: list[str]) -> tuple[int, int, int]:
    """The page's CSS and JavaScript as production serves them (this project's minified when collected, see
    core/static_storage.py): raw and gzipped bytes, and the raw bytes of the sources for comparison."""
    from core.static_storage import is_minified_here, minify

    raw = zipped = source_raw = 0
    for relative in paths:
        found = Path(finders.find(relative))
        source = found.read_bytes()
        data = minify(found).encode() if is_minified_here(found) else source
        source_raw += len(source)
        raw += len(data)
        zipped += len(gzip.compress(data, 6))
    return raw, zipped, source_raw


def _reference_ms() -> tuple[float, float]:
    """How fast this machine is right now: the login page (no query) and a fixed Python loop."""
    client = Client()
    client.get("/accounts/login/")
    samples = []
    for _ in range(100):
        t0 = time.perf_counter()
        client.get("/accounts/login/")
        samples.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(20):
        sum(range(100_000))
    return statistics.median(samples) * 1000, (time.perf_counter() - t0) / 20 * 1000


def main() -> None:
    # As in production: DEBUG off (no query log, no debug scripts). Not setup_test_environment(),
    # which instruments every template render to record it for assertions.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    login_ms, loop_ms = _reference_ms()
    print(
        f"database: {connection.vendor}; DEBUG off. Figures are noisy on a shared machine; for scale, here and now\n"
        f"  the login page (no SQL) takes p50 {login_ms:.1f} ms and sum(range(100_000)) {loop_ms:.1f} ms "
        "(about 1 ms on an unloaded current CPU)"
    )
    try:
        benches = {}
        for n_items in SIZES:
            t0 = time.perf_counter()
            benches[n_items] = Bench(*_populate(n_items, f"s{n_items}"))
            print(f"{n_items:,} items: populated in {time.perf_counter() - t0:.1f} s")
        # Rounds alternate between the sizes, so a neighbour's load burst doesn't land on one size only.
        for _ in range(ROUNDS):
            for bench in benches.values():
                bench.view_pages(PAGE_VIEWS // ROUNDS)
                bench.submit(SUBMITS // ROUNDS)
        html = b""
        for n_items, bench in benches.items():
            page_queries, ahead_queries, submit_queries, html = bench.count_queries()
            print(f"\n{n_items:,} items:")
            print(f"  task page (GET, full page):     {_percentiles(bench.page_times)}  {page_queries} SQL queries")
            print(f"  look-ahead (htmx POST, claims): {_percentiles(bench.ahead_times)}  {ahead_queries} SQL queries")
            print(f"  submit (htmx POST + next task): {_percentiles(bench.submit_times)}  {submit_queries} SQL queries")
        static = ["css/coachbench.css", "js/player.js", "js/shortcuts.js", "django_htmx/htmx-2.min.js"]
        raw, zipped, source_raw = _static_bytes(static)
        page_raw, page_zipped = len(html), len(gzip.compress(html, 6))
        print("\npage weight without video, as served in production (goal < 100 kB):")
        print(f"  HTML {page_raw / 1000:.1f} kB ({page_zipped / 1000:.1f} kB gzipped)")
        print(
            f"  CSS + JS incl. htmx {raw / 1000:.1f} kB ({zipped / 1000:.1f} kB gzipped; "
            f"{source_raw / 1000:.1f} kB as written, before minifying)"
        )
        print(f"  total {(page_raw + raw) / 1000:.1f} kB ({(page_zipped + zipped) / 1000:.1f} kB gzipped)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
