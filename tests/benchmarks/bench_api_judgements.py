"""Paging a study of 1,000,000 judgements through the API: milliseconds and queries a page, first and deep.

The study is the export benchmark's (``bench_export._populate``: 4 methods, 300 coaches, 3
judgements an item), in a scratch database dropped afterwards. A researcher of the study's group
asks ``/api/v1/studies/<id>/judgements/`` for pages of 100: the first page and one half-way
through (a cursor at the middle id), unfiltered and filtered by coach, method, sport and time.
Each figure is the median of 5 requests through the whole stack (token, permissions, the study's
group, the page), with the number of queries and the plan PostgreSQL chose for the page.
Figures are noisy on a shared machine.
"""

from __future__ import annotations

import base64
import os
import statistics
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, reset_queries, transaction
from django.test.utils import CaptureQueriesContext

N_JUDGEMENTS = int(os.environ.get("BENCH_API_JUDGEMENTS", 1_000_000))
RUNS = 5


def _cursor_at(position: int) -> str:
    return base64.b64encode(f"p={position}".encode()).decode()


def _measure(client, url: str) -> tuple[float, int, str]:
    client.get(url)  # warm: the token and the permissions cache
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        assert response.json()["results"], url
    page_sql = next(q["sql"] for q in queries.captured_queries if 'FROM "annotations_judgement"' in q["sql"])
    plan = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + page_sql)
            plan = " / ".join(row[0].strip() for row in cursor.fetchall()[:4])
    return statistics.median(times), len(queries), plan


def main() -> None:
    from django.contrib.auth.models import Group
    from django.test.utils import setup_test_environment
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from annotations.models import Judgement
    from studies.models import Study
    from tests.api.conftest import make_researcher
    from tests.benchmarks.bench_export import _populate

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    scratch = Path(tempfile.mkdtemp(prefix="bench-api-", dir=settings.VAR_DIR))
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        str(scratch / "bench.sqlite3") if connection.vendor == "sqlite" else f"test_{old_name}_bench_api"
    )
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        with transaction.atomic():
            _populate(N_JUDGEMENTS)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"{connection.vendor}: created {N_JUDGEMENTS:,} judgements in {time.perf_counter() - started:.0f} s")
        lab = Group.objects.create(name="bench-lab")
        study = Study.objects.get(slug="bench-export")
        Study.objects.filter(pk=study.pk).update(group=lab)
        researcher = make_researcher("bench-researcher")
        researcher.groups.add(lab)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=researcher).key}")
        rows = Judgement.objects.filter(study=study)
        middle = rows.order_by("id").values_list("id", flat=True)[rows.count() // 2]
        coach = Judgement.objects.filter(study=study).values_list("coach__username", flat=True).first()
        created = Judgement.objects.filter(pk=middle).values_list("created", flat=True).get()
        base = f"/api/v1/studies/{study.pk}/judgements/?page_size=100"
        cases = [
            ("all", ""),
            ("coach", f"&coach={coach}"),
            ("method", "&method=method-2"),
            ("sport", "&sport=bench"),
            ("kind", "&kind=likert"),
            ("created_after", f"&created_after={created.isoformat().replace('+00:00', 'Z')}"),
        ]
        print(f"{'filter':<14} {'first page':>12} {'half-way':>12}  queries  plan of the half-way page")
        for label, extra in cases:
            first_ms, first_queries, _ = _measure(client, base + extra)
            deep_ms, deep_queries, plan = _measure(client, f"{base}{extra}&cursor={_cursor_at(middle)}")
            print(
                f"{label:<14} {first_ms:>9.1f} ms {deep_ms:>9.1f} ms  {first_queries}/{deep_queries}      {plan[:160]}"
            )
        reset_queries()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        for path in sorted(scratch.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        scratch.rmdir()
