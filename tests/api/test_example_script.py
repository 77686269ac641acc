"""``examples/researcher_workflow.py`` run as a researcher would: a subprocess against a live server and a worker.

The script only talks HTTP; the server is pytest-django's live server, a real Celery worker
probes the videos, generates the candidates, builds the items and writes the export. If an
endpoint the script uses changes, this test fails, so the example can't silently rot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from retrieval_backend.models import CandidateSet, Clip, MistakeQuery, Video
from studies.models import Item, Study
from tests.api.conftest import make_researcher
from tests.studies.conftest import make_coach

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "researcher_workflow.py"

pytestmark = pytest.mark.django_db(transaction=True)


def _jsonl(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _run(*args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COACHBENCH_")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


@pytest.fixture
def manifests(make_video, tmp_path):
    """Two gallery videos with three clips each, and two mistake queries cut from a third video."""
    gallery = []
    for n in (1, 2):
        video = make_video(f"gallery/serve-{n}.mp4", seconds=3, width=64 + 16 * n, height=48)
        clips = [
            {"id": f"serve-{n}-{i}", "start": i, "end": i + 1, "skill": "serve", "narration": f"Toss it higher, {i}."}
            for i in range(3)
        ]
        gallery.append({"video": str(video), "sport": "tennis", "external_id": f"yt:serve-{n}", "clips": clips})
    query_video = make_video("queries/athlete.mp4", seconds=3, width=64, height=48)
    queries = [
        {
            "id": f"q-{i}",
            "video": str(query_video),
            "sport": "tennis",
            "skill": "serve",
            "start": 0,
            "end": 2,
            "mistake": f"The toss drifts behind the head ({i}).",
        }
        for i in (1, 2)
    ]
    return _jsonl(tmp_path / "gallery.jsonl", gallery), _jsonl(tmp_path / "queries.jsonl", queries)


@pytest.mark.worker
@pytest.mark.redis
def test_the_example_script_takes_a_study_from_manifests_to_a_downloaded_dataset(
    live_server, celery_worker_factory, manifests, tmp_path, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    gallery, queries = manifests
    researcher = make_researcher("script-researcher")
    token = Token.objects.create(user=researcher).key
    for n in (1, 2):
        make_coach(f"script-coach-{n}")
    celery_worker_factory()
    out = tmp_path / "serve-pilot.zip"

    run = _run(
        "--url", live_server.url,
        "--token", token,
        "--gallery", str(gallery),
        "--queries", str(queries),
        "--method", "control=random",
        "--method", 'control-b=random:{"seed": 7}',
        "--study-slug", "serve-pilot",
        "--title", "Serve pilot",
        "--k", "3",
        "--raters", "2",
        "--out", str(out),
        "--timeout", "240",
    )  # fmt: skip

    print(run.stdout)
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    for line in [
        "gallery: imported",
        "queries: imported",
        "method control: registered (random)",
        "candidates: top 3 per query for control, control-b",
        "study serve-pilot: live",
        "progress: 0/",
        f"export: {out}",
        "done",
    ]:
        assert line in run.stdout, run.stdout
    assert (Video.objects.count(), Clip.objects.count(), MistakeQuery.objects.count()) == (3, 6, 2)
    assert CandidateSet.objects.filter(method__name__in=["control", "control-b"]).count() == 4
    study = Study.objects.get(slug="serve-pilot")
    assert study.status == Study.Status.LIVE
    assert Item.objects.filter(study=study).exists()
    with zipfile.ZipFile(out) as bundle:
        assert bundle.testzip() is None
        names = bundle.namelist()
    assert any(name.endswith("items.csv") for name in names), names

    # The same run again: everything exists, so the study slug is refused, and the script says so.
    again = _run("--url", live_server.url, "--token", token, "--method", "control=random",
                 "--method", "control-b=random", "--study-slug", "serve-pilot", "--timeout", "240")  # fmt: skip
    assert again.returncode == 2, again.stdout + again.stderr
    assert "method control: exists (random)" in again.stdout
    assert "slug" in again.stderr


def test_the_example_script_names_the_manifest_line_to_fix_and_imports_nothing(live_server, tmp_path):
    researcher = make_researcher("script-researcher")
    token = Token.objects.create(user=researcher).key
    bad = _jsonl(tmp_path / "gallery.jsonl", [{"video": "/nowhere/x.mp4", "sport": "tennis", "clips": [{"id": "a"}]}])

    run = _run("--url", live_server.url, "--token", token, "--gallery", str(bad), "--probe", "none",
               "--method", "a=random", "--method", "b=random", "--study-slug", "x")  # fmt: skip

    assert run.returncode == 2, run.stdout + run.stderr
    assert "line 1: clips[0]" in run.stderr, run.stderr
    assert not Video.objects.exists()
    assert "Check the token" in _run("--url", live_server.url, "--token", "wrong", "--method", "a=random",
                                     "--method", "b=random", "--study-slug", "x").stderr  # fmt: skip
