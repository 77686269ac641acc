"""Exporting a study of 1,000,000 judgements: seconds and peak memory (goal: under 60 s and 500 MB).

Rows are created directly (bulk inserts, no assignment engine) in a scratch database next to the
configured one, dropped afterwards: on PostgreSQL ``test_<name>_bench_export``, on SQLite a file
under VAR_DIR. The study has 4 methods at depth 10 (60 pairwise and about 30 Likert items a
query), 3 judgements an item from 300 coaches, 1% flagged. The export runs in a child process
whose own peak resident memory (VmHWM, read by the child) is the figure reported. Three runs: a
cold export (the results computed inside it), the results service alone, and a warm export after
the report was recomputed, which reuses it (the usual case: a worker keeps the report current).
Figures are noisy on a shared machine.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

N_JUDGEMENTS = int(os.environ.get("BENCH_EXPORT_JUDGEMENTS", 1_000_000))
N_METHODS, DEPTH, RATERS, N_COACHES = 4, 10, 3, 300
BATCH = 20_000
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import os, sys, time, django
def peak_mb():
    # VmHWM: this process's own peak resident memory (ru_maxrss from wait4 would also count the
    # parent's memory at fork, which holds the freshly generated rows here).
    return next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
django.setup()
from studies.models import Study
study = Study.objects.get(slug="bench-export")
started = time.perf_counter()
if sys.argv[1] == "export":
    from annotations.research.export.bundle import write_bundle
    summary = write_bundle(study, sys.argv[2])
    print(f"RESULT {time.perf_counter() - started:.2f} {summary.size_bytes} {summary.judgements} {peak_mb():.0f}")
else:
    from annotations.research.results.service import study_results
    results = study_results(study)
    print(f"RESULT {time.perf_counter() - started:.2f} 0 {results['counts']['judgements']} {peak_mb():.0f}")
"""


def _populate(n_judgements: int) -> None:
    from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Sport, Video
    from studies.models import CoachProfile, Item, Study

    rng = random.Random(7)
    per_query = len(list(combinations(range(N_METHODS), 2))) * DEPTH + 30
    n_items = n_judgements // RATERS
    n_queries = max(1, n_items // per_query)
    sport = Sport.objects.create(slug="bench", name="Bench")
    video = Video.objects.create(
        sport=sport, source_uri="/bench/gallery.mp4", duration_s=100_000, probe_status="ok", sha256="0" * 64
    )
    clips = Clip.objects.bulk_create(
        (
            Clip(video=video, sport=sport, external_id=f"clip-{i}", start_s=i, end_s=i + 4, narration=f"Tip {i}")
            for i in range(20_000)
        ),
        batch_size=5000,
    )
    queries = MistakeQuery.objects.bulk_create(
        (
            MistakeQuery(video=video, sport=sport, external_id=f"query-{i}", start_s=0, end_s=3, mistake="m")
            for i in range(n_queries)
        ),
        batch_size=5000,
    )
    methods = [RetrievalMethod.objects.create(name=f"method-{m}", backend="random") for m in range(N_METHODS)]
    study = Study.objects.create(title="Export benchmark", slug="bench-export", status="live", raters_per_item=RATERS)
    study.methods.set(methods)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench-coach{i}", email=f"c{i}@example.org", password="!") for i in range(N_COACHES)
    )
    CoachProfile.objects.bulk_create(CoachProfile(user=u, years_coaching=5) for u in users)

    def items():
        made = 0
        for query in queries:
            for rank in range(1, DEPTH + 1):
                for m1, m2 in combinations(methods, 2):
                    yield Item(
                        study=study,
                        kind="pairwise",
                        key=f"pw:{query.pk}:{m1.pk}:{m2.pk}:r{rank}",
                        query=query,
                        clip_a=clips[rng.randrange(len(clips))],
                        clip_b=clips[rng.randrange(len(clips))],
                        credits_a=[{"method": m1.pk, "rank": rank}],
                        credits_b=[{"method": m2.pk, "rank": rank}],
                        method_pair=f"{m1.pk}:{m2.pk}",
                        swapped=rng.random() < 0.5,
                        needed=RATERS,
                        load=RATERS,
                        judgements_done=RATERS,
                    )
                    made += 1
            for n in range(30):
                credited = rng.sample(methods, rng.choice([1, 1, 1, 2]))
                yield Item(
                    study=study,
                    kind="likert",
                    key=f"lk:{query.pk}:{n}",
                    query=query,
                    clip_a=clips[rng.randrange(len(clips))],
                    credits_a=[{"method": m.pk, "rank": 1 + (n % DEPTH)} for m in credited],
                    needed=RATERS,
                    load=RATERS,
                    judgements_done=RATERS,
                )
                made += 1
            if made >= n_items:
                return

    Item.objects.bulk_create(items(), batch_size=5000)
    _judgements(study, [u.pk for u in users], rng, n_judgements)


def _judgements(study, coach_ids: list[int], rng: random.Random, n_judgements: int) -> None:
    from annotations.models import Judgement
    from studies.models import Assignment, Item

    ops = connection.ops
    base = datetime(2026, 3, 1, tzinfo=UTC)
    winners = {False: {"left": "a", "right": "b", "equal": "tie", "neither": "neither"}}
    winners[True] = {"left": "b", "right": "a", "equal": "tie", "neither": "neither"}
    assignment_sql = (
        f"INSERT INTO {Assignment._meta.db_table} (id, item_id, coach_id, study_id, token, status, reserved, "
        "expires, completed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    judgement_sql = (
        f"INSERT INTO {Judgement._meta.db_table} (id, assignment_id, study_id, item_id, coach_id, kind, choice, "
        "winner, score, rationale, flag, watch_ms, server_ms, created, revised, revision) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    items = Item.objects.filter(study=study).order_by("id").values_list("id", "kind", "swapped")
    next_id = 1
    assignments, judgements = [], []
    with connection.cursor() as cursor:
        for item_id, kind, swapped in items.iterator(chunk_size=BATCH):
            first = rng.randrange(len(coach_ids))
            for r in range(RATERS):
                if next_id > n_judgements:
                    break
                coach = coach_ids[(first + r * 7) % len(coach_ids)]
                when = base + timedelta(seconds=next_id)
                stamp = ops.adapt_datetimefield_value(when)
                assignments.append((next_id, item_id, coach, study.pk, f"t{next_id}", "done", stamp, stamp, stamp))
                flag = "cant_judge" if rng.random() < 0.01 else ""
                choice, winner, score = "", "", None
                if not flag and kind == "pairwise":
                    choice = rng.choice(("left", "right", "right", "equal", "neither"))
                    winner = winners[swapped][choice]
                elif not flag:
                    score = rng.randint(1, 5)
                watch = ops.adapt_json_value({"query": 3000, "a": 4000}, None)
                judgements.append(
                    (next_id, next_id, study.pk, item_id, coach, kind, choice, winner, score, "", flag, watch,
                     rng.randint(2000, 60_000), stamp, None, 0)
                )  # fmt: skip
                next_id += 1
            if len(judgements) >= BATCH:
                cursor.executemany(assignment_sql, assignments)
                cursor.executemany(judgement_sql, judgements)
                assignments, judgements = [], []
        cursor.executemany(assignment_sql, assignments)
        cursor.executemany(judgement_sql, judgements)
    if connection.vendor == "postgresql":
        # Rows were inserted with explicit ids: move the sequences past them, and refresh planner statistics.
        with connection.cursor() as cursor:
            for model in (Assignment, Judgement):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {next_id})")
                cursor.execute(f"ANALYZE {table}")


def _child(mode: str, out: Path, env: dict[str, str]) -> tuple[float, int, int, float]:
    """(seconds reported by the child, bytes written, judgements, peak RSS in MB) of one child run."""
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, _ = os.wait4(process.pid, 0)
    output = process.stdout.read().decode()
    errors = process.stderr.read().decode()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"the {mode} child failed ({process.returncode}):\n{errors[-3000:]}")
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    _, seconds, size, judgements, peak = line.split()
    return float(seconds), int(size), int(judgements), float(peak)


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _database_url() -> str:
    from tests.conftest import database_url_for_current_test_db

    return database_url_for_current_test_db()


def main() -> None:
    old_name = connection.settings_dict["NAME"]
    scratch = Path(tempfile.mkdtemp(prefix="bench-export-", dir=settings.VAR_DIR))
    test_settings = connection.settings_dict.setdefault("TEST", {})
    test_settings["NAME"] = (
        str(scratch / "bench.sqlite3") if connection.vendor == "sqlite" else f"test_{old_name}_bench_export"
    )
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        with transaction.atomic():
            _populate(N_JUDGEMENTS)
        print(
            f"{connection.vendor}: created {N_JUDGEMENTS:,} judgements (with assignments and "
            f"{N_JUDGEMENTS // RATERS:,} items) in {time.perf_counter() - started:.0f} s"
        )
        env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "config.settings"}
        seconds, size, judgements, rss = _child("export", scratch / "cold.zip", env)
        print(
            f"export of {judgements:,} judgements, results computed: {seconds:.1f} s (goal < 60 s), "
            f"peak RSS {rss:.0f} MB (goal < 500 MB), zip {size / 2**20:.0f} MiB"
        )
        seconds, _, _, rss = _child("results", scratch / "unused", env)
        print(f"  the results service alone (agreement, leaderboard, Likert, coaches; 1,000 resamples): "
              f"{seconds:.1f} s, peak RSS {rss:.0f} MB")  # fmt: skip
        from annotations.research.reports import refresh_report
        from studies.models import Study

        started = time.perf_counter()
        refresh_report(Study.objects.get(slug="bench-export").pk, force=True)
        print(
            f"report recomputed by the worker's function (results and figures): {time.perf_counter() - started:.1f} s"
        )
        seconds, size, judgements, rss = _child("export", scratch / "warm.zip", env)
        print(
            f"export with the cached report current: {seconds:.1f} s, peak RSS {rss:.0f} MB, "
            f"same bytes as the cold export: {_sha(scratch / 'warm.zip') == _sha(scratch / 'cold.zip')}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        for path in sorted(scratch.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        scratch.rmdir()
