"""``make loadtest``: gunicorn on PostgreSQL, a seeded live study, locust's coaches, then the database checked.

    make loadtest                          # 100 coaches for 5 minutes
    LOADTEST_DURATION=30s make loadtest    # a short try

Everything runs on this machine, on the loopback interface, for a bounded time.
The database named by ``LOADTEST_DATABASE_URL`` (default
postgres://postgres@127.0.0.1:5432/coachbench_load) is dropped and created
afresh on every run; a database this script did not create is never touched.
gunicorn runs with production settings (DEBUG off, WhiteNoise, secure cookies;
locust sends ``X-Forwarded-Proto: https`` as nginx would) and the configuration
in ``platform/gunicorn.conf.py`` (``WEB_CONCURRENCY`` and ``GUNICORN_THREADS``
override it as in production). No Celery worker runs: the pages need none, and
the "report is stale" messages a submit queues go to a filesystem broker.

Afterwards it prints requests per second and p50/p95/p99 per endpoint as the
coaches saw them and as gunicorn timed them (the difference is time spent
queueing for a free thread), the errors, the load average while it ran (the
machine may be shared: read the figures with it), and checks the database: every
submission the server acknowledged is stored exactly once with the answer sent,
no item has more judgements than its raters per item, no coach judged an item
twice, and the counters agree with the rows. It exits 1 when a check fails or
any request failed. gunicorn and locust are stopped at the end whatever happens
(Ctrl-C included), with their whole process groups.

Settings (environment): LOADTEST_DURATION (5m), LOADTEST_USERS (100),
LOADTEST_SPAWN_RATE (coaches started per second, 2: each log-in hashes a
password for ~0.4 s of CPU), LOADTEST_ITEMS (20000), LOADTEST_THINK (seconds a
coach spends on an item, uniform, "5-15": three 2.5 s clips watched and an answer
chosen; "1-2" is a stress test, not coaches), LOADTEST_PORT (a free one),
LOADTEST_VAR_DIR (var/loadtest; the videos, rendered clips and collected static
files are kept there between runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/coachbench_load"
# Written on the database when this script creates it; a database without it is never dropped.
MARK = "coachbench load test: dropped and recreated by tests/load/run.py"
# The endpoints whose p95 the goal is about.
GOAL_ENDPOINTS = ("task page", "submit")
GOAL_P95_MS = 100


class LoadTestError(Exception):
    """A setting or a service the load test can't work with, with what to do."""


def _seconds(text: str) -> int:
    match = re.fullmatch(r"\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s?)?\s*", text)
    if not match or not any(match.groups()):
        raise LoadTestError(f"LOADTEST_DURATION={text!r}: write it as locust does, e.g. 30s, 5m or 1h30m.")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < 10:
        raise LoadTestError(f"LOADTEST_DURATION={text!r} is too short to measure anything: use 10s or more.")
    return total


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LoadTestError(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise LoadTestError(f"{name}={raw!r}: use {minimum} or more.")
    return value


def _think() -> str:
    raw = os.environ.get("LOADTEST_THINK", "5-15").strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)", raw)
    if not match or float(match.group(1)) > float(match.group(2)):
        raise LoadTestError(
            f"LOADTEST_THINK={raw!r}: give the seconds a coach spends on an item as LOW-HIGH, e.g. 5-15."
        )
    return raw


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the database -----------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"} or not parts.path.strip("/"):
        raise LoadTestError(f"LOADTEST_DATABASE_URL={url!r}: give a PostgreSQL URL with a database name.")
    name = parts.path.strip("/")
    admin = parts._replace(path="/postgres").geturl()
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise LoadTestError(f"cannot reach PostgreSQL at {parts.hostname}:{parts.port or 5432}: {exc}") from None
    with conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if row is not None:
            if row[0] != MARK:
                raise LoadTestError(
                    f"the database {name!r} exists and was not made by the load test; it is left alone. "
                    "Name another one in LOADTEST_DATABASE_URL."
                )
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(MARK)))


def _static_is_current(static_root: Path) -> bool:
    """Whether collectstatic's output is newer than the project's static files and the installed packages.

    Collecting hashes and compresses every file (minutes on a busy machine), so it runs only when needed.
    """
    manifest = static_root / "staticfiles.json"
    if not manifest.is_file():
        return False
    sources = [path.stat().st_mtime for path in (ROOT / "static").rglob("*") if path.is_file()]
    installed = ROOT / ".venv" / ".installed"
    if installed.is_file():
        sources.append(installed.stat().st_mtime)
    return manifest.stat().st_mtime > max(sources, default=0)


# --- processes ----------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: receive SIGKILL if this script dies without cleaning up (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Processes:
    """Children started in process groups of their own, each stopped with its whole group."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
        self.running.append((name, process))
        return process

    def stop(self, process: subprocess.Popen, first: int = signal.SIGINT, grace_s: float = 10) -> None:
        self.running = [(name, p) for name, p in self.running if p is not process]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace_s)
        # The group, not just the leader: gunicorn's workers outlive a killed master for a moment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)

    def stop_all(self, grace_s: float = 10) -> None:
        """Signal every group at once, give them ``grace_s`` together, then kill what is left."""
        running, self.running = self.running, []
        for _, process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for _, process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for _, process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


def _wait_until_serving(base: str, server: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LoadTestError(f"gunicorn exited with status {server.returncode}; see {log}")
        try:
            request = urllib.request.Request(f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise LoadTestError(f"gunicorn did not answer within {timeout_s:.0f} s; see {log}")


class LoadSampler(threading.Thread):
    """The 1-minute load average every few seconds while the test runs (neighbours' work included)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(5):
            self.samples.append(os.getloadavg()[0])


# --- checks -------------------------------------------------------------------------------------


def check_database(study_id: int, acks_path: Path) -> tuple[list[str], list[str]]:
    """(problems, notes): what breaks a promise to the coaches, and what is worth knowing."""
    from django.db.models import Count

    from annotations.models import Judgement
    from studies.models import Assignment, Item, Participation, Study

    study = Study.objects.get(pk=study_id)
    acks = [json.loads(line) for line in acks_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    acks_by_token: dict[str, list[dict]] = defaultdict(list)
    for ack in acks:
        acks_by_token[ack["token"]].append(ack)
    stored = defaultdict(list)
    for row in Judgement.objects.filter(study=study).values(
        "assignment__token", "coach__username", "choice", "score", "flag", "item_id"
    ):
        stored[row["assignment__token"]].append(row)

    problems, notes = [], []
    lost = [token for token in acks_by_token if not stored.get(token)]
    duplicated = [token for token, rows in stored.items() if len(rows) > 1]
    wrong, saved_twice, repeats = [], [], 0
    for token, entries in acks_by_token.items():
        rows = stored.get(token)
        if not rows:
            continue
        # "Saved" means the server recorded this POST's answer; a repeat is answered with the next item only.
        saved = [ack for ack in entries if ack["saved"]]
        if len(saved) > 1:
            saved_twice.append(token)
        if not saved:
            repeats += 1
            reference = {"coach": entries[0]["coach"]}
        else:
            reference = saved[0]
        row = rows[0]
        if row["coach__username"] != reference["coach"] or (
            saved
            and (row["choice"], row["score"], row["flag"])
            != (reference["choice"], reference["score"], reference["flag"])
        ):
            wrong.append(token)
    twice = list(
        Judgement.objects.filter(study=study).values("item_id", "coach_id").annotate(n=Count("id")).filter(n__gt=1)
    )
    counted = dict(
        Judgement.objects.filter(study=study, flag="")
        .values("item_id")
        .annotate(n=Count("id"))
        .values_list("item_id", "n")
    )
    over = [item for item, n in counted.items() if n > study.raters_per_item]
    over_load = Item.objects.filter(study=study, load__gt=study.raters_per_item).count()
    drift = [
        pk
        for pk, done in Item.objects.filter(study=study).values_list("pk", "judgements_done")
        if counted.get(pk, 0) != done
    ]
    done_without = Assignment.objects.filter(study=study, status=Assignment.Status.DONE, judgement__isnull=True).count()
    by_coach = dict(
        Judgement.objects.filter(study=study, flag="")
        .values("coach_id")
        .annotate(n=Count("id"))
        .values_list("coach_id", "n")
    )
    progress_off = [
        p.coach_id for p in Participation.objects.filter(study=study) if p.done_count != by_coach.get(p.coach_id, 0)
    ]
    unacked = [token for token in stored if token not in acks_by_token]

    total = sum(len(rows) for rows in stored.values())
    flags = Judgement.objects.filter(study=study).exclude(flag="").count()
    notes.append(
        f"acknowledged submissions: {len(acks_by_token)} "
        f"(and {len(acks) - len(acks_by_token)} repeated POSTs acknowledged); "
        f"judgements stored: {total} ({flags} flags); "
        f"stored but not acknowledged (in flight when the test stopped): {len(unacked)}"
    )
    notes.append(
        f"items judged: {len(counted)} of {Item.objects.filter(study=study).count()}; most judgements on one item: "
        f"{max(counted.values(), default=0)} (raters per item {study.raters_per_item}); "
        f"live reservations left: {Assignment.objects.filter(study=study, status='reserved').count()}"
    )
    if repeats:
        notes.append(
            f"{repeats} submissions acknowledged without '\u2713 Saved': the server already held an answer for the "
            "item (a POST the coach saw time out, then sent again), and kept the first one"
        )
    for label, found in (
        ("acknowledged but not stored (lost)", lost),
        ("stored more than once (duplicated)", duplicated),
        ("stored with another answer or coach than sent", wrong),
        ("saved twice (two POSTs both shown '\u2713 Saved')", saved_twice),
        ("(item, coach) pairs judged twice", twice),
        ("items with more judgements than raters per item", over),
        ("items whose judgements_done differs from their judgements", drift),
        ("coaches whose done count differs from their judgements", progress_off),
    ):
        if found:
            problems.append(f"{label}: {len(found)}, e.g. {found[:3]}")
    if over_load:
        problems.append(f"items whose load exceeds raters per item: {over_load}")
    if done_without:
        problems.append(f"assignments marked done without a judgement: {done_without}")
    notes.append(
        f"lost: {len(lost)}, duplicated: {len(duplicated)}, over raters per item: {len(over)}, "
        f"judged twice by one coach: {len(twice)}"
    )
    return problems, notes


# --- the report ---------------------------------------------------------------------------------


def print_report(stats_path: Path, seconds: float) -> tuple[int, dict[str, float]]:
    """The per-endpoint table; returns (failed requests, p95 by endpoint)."""
    if not stats_path.is_file():
        raise LoadTestError(f"locust wrote no statistics to {stats_path}; see its output above")
    data = json.loads(stats_path.read_text(encoding="utf-8"))
    head = (
        f"{'endpoint':<26}{'requests':>9}{'fails':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}"
    )
    print("\n" + head)
    p95, errors = {}, 0
    rows = data["endpoints"]
    for row in sorted(rows[:-1], key=lambda r: r["name"]) + rows[-1:]:
        total = row is rows[-1]
        name = "all requests" if total else row["name"]
        if not total:
            errors += row["failures"]
        p95[name] = row["p95"]
        print(
            f"{name[:25]:<26}{row['requests']:>9}{row['failures']:>7}{row['requests'] / seconds:>8.1f}"
            f"{row['p50']:>8.0f}{row['p95']:>8.0f}{row['p99']:>8.0f}{row['max']:>8.0f}"
        )
    if data["errors"]:
        print("\nerrors:")
        for row in sorted(data["errors"], key=lambda r: -r["occurrences"]):
            print(f"  {row['occurrences']:>5} x {row['method']} {row['name']}: {row['error'][:300]}")
    return errors, p95


_ENDPOINTS = (
    ("GET", re.compile(r"/accounts/login/"), "login page"),
    ("POST", re.compile(r"/accounts/login/"), "log in"),
    ("GET", re.compile(r"/"), "home"),
    ("GET", re.compile(r"/studies/[^/]+/"), "study page"),
    ("GET", re.compile(r"/studies/[^/]+/continue/"), "continue"),
    ("GET", re.compile(r"/task/[^/]+/"), "task page"),
    ("POST", re.compile(r"/task/[^/]+/"), "submit"),
    ("GET", re.compile(r"/task/[^/]+/\w+\.mp4"), "clip range"),
    ("GET", re.compile(r"/static/.*"), "static file"),
)


def _percentile(ordered: list[int], fraction: float) -> int:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def print_server_times(access_log: Path) -> None:
    """The same endpoints timed inside gunicorn: what the server took, without the client's own delays."""
    times: dict[str, list[int]] = defaultdict(list)
    for line in access_log.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) != 4 or not parts[3].isdigit():
            continue
        method, path, _, ms = parts
        name = next((n for m, pattern, n in _ENDPOINTS if m == method and pattern.fullmatch(path)), "other")
        times[name].append(int(ms))
    if not times:
        return
    print("\nserver time (inside gunicorn, request in to response sent)")
    print(f"{'endpoint':<26}{'requests':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for name in sorted(times):
        ordered = sorted(times[name])
        print(
            f"{name:<26}{len(ordered):>9}{_percentile(ordered, 0.5):>8}{_percentile(ordered, 0.95):>8}"
            f"{_percentile(ordered, 0.99):>8}"
        )


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    try:
        return run()
    except LoadTestError as exc:
        print(f"load test: {exc}", file=sys.stderr)
        return 2


def run() -> int:
    duration_text = os.environ.get("LOADTEST_DURATION", "5m")
    seconds = _seconds(duration_text)
    users = _int("LOADTEST_USERS", 100)
    spawn_rate = float(os.environ.get("LOADTEST_SPAWN_RATE", "2") or 2)
    items = _int("LOADTEST_ITEMS", 20_000, minimum=10)
    think = _think()
    port = _int("LOADTEST_PORT", 0, minimum=0) or _free_port()
    database_url = os.environ.get("LOADTEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    var_dir = Path(os.environ.get("LOADTEST_VAR_DIR") or ROOT / "var" / "loadtest").resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    out = var_dir / "run"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()

    # The server's environment, and this process's own before Django reads it.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LOADTEST_", "DJANGO_"))},
        "DATABASE_URL": database_url,
        "VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    for key in ("STATIC_ROOT", "MEDIA_ROOT", "CLIP_CACHE_DIR", "MEDIA_ACCEL_REDIRECT_PREFIX", "VIDEO_ALLOWED_ROOTS"):
        env.pop(key, None)
    os.environ.clear()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    conf = runpy.run_path(str(ROOT / "platform" / "gunicorn.conf.py"))

    processes = Processes()
    sampler = LoadSampler()

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # Installed explicitly: a shell that starts this in the background leaves SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)
    try:
        recreate_database(database_url)
        print(f"load test database: {database_url} (created afresh)", flush=True)
        import django
        from django.core.management import call_command

        django.setup()
        from django.db import connection

        phase = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        if not _static_is_current(var_dir / "static"):
            call_command("collectstatic", verbosity=0, interactive=False)
        print(f"migrated and collected static files in {time.perf_counter() - phase:.0f} s", flush=True)
        from tests.load.seed import seed

        plan = seed(var_dir=var_dir, items=items, coaches=users, password=secrets.token_urlsafe(12))
        connection.close()

        log = out / "gunicorn.log"
        access_log = out / "access.log"
        with open(log, "wb") as log_file:
            server = processes.start(
                "gunicorn",
                [
                    str(BIN / "gunicorn"),
                    "config.wsgi",
                    "-c",
                    "platform/gunicorn.conf.py",
                    # locust stands for the browser and nginx together: nginx keeps a browser's connection
                    # 75 s (and browsers resend a request that meets a connection closed under it), while
                    # gunicorn alone closes idle ones after 5 s, racing a coach's submit after 5 s of thought.
                    "--keep-alive",
                    "75",
                    # Each request's time inside gunicorn, to tell the server's share from the client's queueing.
                    "--access-logfile",
                    str(access_log),
                    "--access-logformat",
                    "%(m)s %(U)s %(s)s %(M)s",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(base, server, log)
        print(
            f"gunicorn on {base}: {conf['workers']} workers x {conf['threads']} threads (platform/gunicorn.conf.py); "
            f"{os.cpu_count()} CPUs; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )

        acks = out / "acks.jsonl"
        acks.touch()
        locust_env = {
            **env,
            "LOADTEST_STUDY": plan.study_slug,
            "LOADTEST_USERNAMES": ",".join(plan.usernames),
            "LOADTEST_PASSWORD": plan.password,
            "LOADTEST_ACKS": str(acks),
            "LOADTEST_STATS": str(out / "stats.json"),
            "LOADTEST_THINK": think,
        }
        for key in ("LOADTEST_FLAG_RATE", "LOADTEST_RESEND_RATE", "LOADTEST_SEEK_RATE"):
            if os.environ.get(key):
                locust_env[key] = os.environ[key]
        prefix = out / "locust"
        print(
            f"locust: {users} coaches, {spawn_rate:g} started per second, {duration_text} ({seconds} s), "
            f"{think} s per item",
            flush=True,
        )
        sampler.start()
        started = time.monotonic()
        swarm = processes.start(
            "locust",
            [
                str(BIN / "locust"),
                "-f",
                "tests/load/locustfile.py",
                "--headless",
                "--only-summary",
                "--users",
                str(users),
                "--spawn-rate",
                str(spawn_rate),
                "--run-time",
                f"{seconds}s",
                "--stop-timeout",
                "20",
                "--host",
                base,
                "--csv",
                str(prefix),
                "--loglevel",
                "WARNING",
            ],
            env=locust_env,
        )
        try:
            swarm.wait(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            print("locust did not stop on time; stopping it", file=sys.stderr)
            processes.stop(swarm)
        elapsed = time.monotonic() - started
        sampler.stopped.set()
        processes.stop(server)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

        errors, p95 = print_report(out / "stats.json", seconds)
        print_server_times(access_log)
        loads = sampler.samples or [os.getloadavg()[0]]
        print(
            f"\nwall time {elapsed:.0f} s; 1-minute load average during the run: mean {statistics.fmean(loads):.2f}, "
            f"max {max(loads):.2f} on {os.cpu_count()} CPUs (other processes on the machine included)"
        )
        problems, notes = check_database(plan.study_id, acks)
        print("\ndatabase:")
        for line in notes:
            print(f"  {line}")
        for line in problems:
            print(f"  PROBLEM: {line}")
        slow = {name: value for name, value in p95.items() if name in GOAL_ENDPOINTS and value >= GOAL_P95_MS}
        unmeasured = [name for name in GOAL_ENDPOINTS if name not in p95]
        verdict = "met" if not slow else "missed (" + ", ".join(f"{n} {v:.0f} ms" for n, v in slow.items()) + ")"
        if unmeasured:
            verdict = f"not measured ({', '.join(unmeasured)}: no requests)"
        print(f"\ngoal p95 < {GOAL_P95_MS} ms for task page and submit: {verdict}")
        print(f"errors: {errors}; database checks: {'passed' if not problems else 'FAILED'}")
        print(f"logs and locust's CSV files: {out}")
        return 1 if problems or errors else 0
    except LoadTestError as exc:
        print(f"load test: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nload test interrupted; stopping gunicorn and locust", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        sampler.stopped.set()
        processes.stop_all()


if __name__ == "__main__":
    sys.exit(main())
