"""Claims per second and SQL queries per claim: 100,000 items, 200 coaches, 8 concurrent claimers.

Goal (issue 4): 500 claims/s on two cores, at most 4 queries a claim, zero
over-assignment. Runs on PostgreSQL only (SQLite serialises every claim by
design); it works in a scratch database created next to the configured one
and dropped afterwards.
"""

from __future__ import annotations

import multiprocessing
import random
import statistics
import threading
import time
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

N_ITEMS = 100_000
N_COACHES = 200
N_CLAIMERS = 8
SECONDS = 20


def _populate():
    from retrieval_backend.models import Clip, MistakeQuery, Sport, Video
    from studies.models import CoachProfile, Item, Study

    sport = Sport.objects.create(slug="bench", name="Bench")
    video = Video.objects.create(sport=sport, source_uri="/bench.mp4", duration_s=10_000, probe_status="ok")
    clips = Clip.objects.bulk_create(
        Clip(video=video, sport=sport, external_id=f"c{i}", start_s=i, end_s=i + 1, narration="n") for i in range(2000)
    )
    queries = MistakeQuery.objects.bulk_create(
        MistakeQuery(video=video, sport=sport, external_id=f"q{i}", start_s=0, end_s=1, mistake="m")
        for i in range(2000)
    )
    study = Study.objects.create(title="bench", slug="bench", status="live", raters_per_item=3, kinds="likert")
    rng = random.Random(1)
    Item.objects.bulk_create(
        (
            Item(
                study=study,
                kind="likert",
                key=f"k{i}",
                query=queries[i % len(queries)],
                clip_a=clips[rng.randrange(len(clips))],
                needed=3,
                order_key=rng.randrange(2**31),
            )
            for i in range(N_ITEMS)
        ),
        batch_size=5000,
    )
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"coach{i}", password="!") for i in range(N_COACHES)
    )
    CoachProfile.objects.bulk_create(CoachProfile(user=u, years_coaching=5) for u in users)
    return study, users


def _claimer(n: int, users: list, study, stop_at: float) -> tuple[int, list[float], list[str]]:
    """Claim and submit as random coaches of this claimer's share until ``stop_at`` (time.time())."""
    from annotations.coach.judging import Answer, submit
    from studies.assignment import next_assignment_for

    mine = users[n::N_CLAIMERS]
    rng = random.Random(n)
    claims, latencies, errors = 0, [], []
    try:
        while time.time() < stop_at:
            coach = mine[rng.randrange(len(mine))]
            t0 = time.perf_counter()
            assignment = next_assignment_for(coach, study)
            latencies.append(time.perf_counter() - t0)
            if assignment is None:
                continue
            submit(coach, assignment.token, Answer(score=rng.randint(1, 5)))  # its own transaction, as in the views
            claims += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
    return claims, latencies, errors


def _in_process(args: tuple) -> tuple[int, list[float], list[str]]:
    return _claimer(*args)


def _run_claimers(mode: str, study, users: list) -> None:
    stop_at = time.time() + SECONDS
    args = [(n, users, study, stop_at) for n in range(N_CLAIMERS)]
    t0 = time.perf_counter()
    if mode == "threads":
        results: list = [None] * N_CLAIMERS

        def run(n: int) -> None:
            results[n] = _claimer(*args[n])

        threads = [threading.Thread(target=run, args=(n,)) for n in range(N_CLAIMERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        connection.close()  # each forked process opens its own connection
        with multiprocessing.get_context("fork").Pool(N_CLAIMERS) as pool:
            results = pool.map(_in_process, args)
    elapsed = time.perf_counter() - t0
    total = sum(r[0] for r in results)
    all_latencies = sorted(x for r in results for x in r[1])
    errors = [e for r in results for e in r[2]]
    print(
        f"{N_CLAIMERS} claimers as {mode:9s} for {elapsed:.1f} s: {total:,} claims, each followed by its submit: "
        f"{total / elapsed:,.0f} claims/s (goal 500); "
        f"claim p50 {statistics.median(all_latencies) * 1000:.1f} ms, "
        f"p95 {all_latencies[int(0.95 * len(all_latencies))] * 1000:.1f} ms; errors: {len(errors)}"
    )
    for error in errors[:5]:
        print("  ", error)


def main() -> None:
    if connection.vendor != "postgresql":
        print("skipped: needs PostgreSQL (set DATABASE_URL=postgres://...); SQLite serialises claims by design")
        return
    from annotations.coach.judging import Answer, submit
    from studies.assignment import next_assignment_for
    from studies.models import Item

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        t0 = time.perf_counter()
        for _ in range(20):
            sum(range(100_000))
        print(
            "figures are noisy on a shared machine; for scale, here and now sum(range(100_000)) takes "
            f"{(time.perf_counter() - t0) / 20 * 1000:.1f} ms (about 1 ms on an unloaded current CPU)"
        )
        started = time.perf_counter()
        study, users = _populate()
        print(f"populated {N_ITEMS:,} items and {N_COACHES} coaches in {time.perf_counter() - started:.1f} s")

        # Queries per claim and per submit, on a warm coach (participation row exists).
        coach = users[0]
        first = next_assignment_for(coach, study)
        submit(coach, first.token, Answer(score=3))
        with CaptureQueriesContext(connection) as claim_queries:
            assignment = next_assignment_for(coach, study)
        with CaptureQueriesContext(connection) as submit_queries:
            submit(coach, assignment.token, Answer(score=4))

        def statements(ctx: CaptureQueriesContext) -> str:
            sent = [q["sql"] for q in ctx.captured_queries]
            control = sum(1 for sql in sent if sql in {"BEGIN", "COMMIT"})
            return f"{len(sent) - control} (+ {control} BEGIN/COMMIT)"

        print(f"SQL queries per claim: {statements(claim_queries)}; per submit: {statements(submit_queries)}")

        # Claimers as threads of one process (the GIL shared) and as processes (gunicorn's workers are).
        for mode in ("threads", "processes"):
            _run_claimers(mode, study, users)
        over = Item.objects.filter(study=study, judgements_done__gt=3).count()
        from studies.models import Assignment

        done = Assignment.objects.filter(study=study, status="done").values_list("item_id", "coach_id")
        doubles = sum(1 for count in Counter(done).values() if count > 1)
        print(f"after both runs: over-assigned items: {over}; coaches judging an item twice: {doubles}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
