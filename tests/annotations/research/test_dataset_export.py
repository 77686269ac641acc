"""The dataset bundle: every table in three formats, the same bytes for the same data, loadable, pseudonymous."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotations.coach.judging import Answer, revise
from annotations.models import Judgement, StudyExport
from annotations.research.export.bundle import write_bundle
from annotations.research.export.runs import run_export, start_export
from core.models import Job
from studies.models import Item
from tests.annotations.judged_study import judge_everything, open_study, prefer, screen_side
from tests.conftest import ROOT, database_url_for_current_test_db
from tests.factories import UserFactory

BOOTSTRAP = 50
TABLES = ["judgements", "items", "queries", "clips", "coaches", "methods", "identical_pairs"]
RATIONALE = 'Shows the "high elbow", then the toss,\nin two steps'


def _judge(judged) -> None:
    flags = itertools.count()
    base = prefer(judged, ["beta", "alpha"], tie_every=4)

    def answer(coach, item):
        if coach == judged.coaches[-1] and next(flags) % 5 == 0:
            return Answer(flag="no_playback")
        given = base(coach, item)
        return Answer(choice=given.choice, score=given.score, rationale=RATIONALE if item.kind == "likert" else "")

    judge_everything(judged, answer)
    judgement = Judgement.objects.filter(study=judged.study, kind="pairwise", flag="").first()
    revise(judgement.coach, judgement.pk, Answer(choice="neither"))


@pytest.fixture
def judged(db):

    judged = open_study(n_queries=1, gold_rate=0.1)
    _judge(judged)
    return judged


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)
    (folder,) = into.iterdir()
    return folder


def test_the_bundle_holds_every_table_in_three_formats_with_a_card_and_a_manifest(judged, tmp_path):
    summary = write_bundle(judged.study, tmp_path / "serve.zip", bootstrap=BOOTSTRAP)
    assert summary.judgements == Judgement.objects.filter(study=judged.study).count()
    folder = _unzip(summary.path, tmp_path / "unzipped")
    assert folder.name == "serve"
    for name in TABLES:
        for fmt in ("parquet", "csv", "jsonl"):
            assert (folder / fmt / f"{name}.{fmt}").is_file()
    for name in ("README.md", "manifest.json", "agreement.json", "leaderboard.csv", "results.json"):
        assert (folder / name).is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["schema_version"] == 1
    assert manifest["coachbench_version"]
    assert manifest["study"] == "serve"
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, entry in listed.items():
        assert entry["sha256"] == _sha(folder / path)
        assert entry["bytes"] == (folder / path).stat().st_size
    assert listed["parquet/judgements.parquet"]["rows"] == summary.judgements

    card = (folder / "README.md").read_text()
    study = judged.study
    assert study.pairwise_question in card
    assert study.likert_question in card
    assert "1 (Not helpful at all), 2, 3, 4, 5 (Extremely helpful)" in card
    assert f"Judgements: {summary.judgements}" in card
    assert "Krippendorff's alpha (nominal)" in card
    assert 'load_dataset("parquet"' in card
    assert "pd.read_parquet" in card
    agreement = json.loads((folder / "agreement.json").read_text())
    assert agreement["pairwise"]["overall"]["alpha_nominal"]["name"] == "Krippendorff's alpha (nominal)"
    assert "how" in agreement["likert"]
    header = (folder / "leaderboard.csv").read_text().splitlines()
    assert header[0].startswith("position,method,log_strength,ci95_low,ci95_high")
    assert [line.split(",")[1] for line in header[1:]] == ["beta", "alpha"]


def test_the_same_data_gives_the_same_bytes_by_command_function_and_worker_task(judged, tmp_path):
    first = write_bundle(judged.study, tmp_path / "one.zip", bootstrap=BOOTSTRAP)
    second = write_bundle(judged.study, tmp_path / "two.zip", bootstrap=BOOTSTRAP)
    assert first.sha256 == second.sha256 == _sha(tmp_path / "two.zip")
    call_command(
        "export_study", "serve", "--out", str(tmp_path / "cli.zip"), "--bootstrap", str(BOOTSTRAP), "--no-progress"
    )
    assert _sha(tmp_path / "cli.zip") == first.sha256
    export = start_export(judged.study)
    assert run_export(export.pk, bootstrap=BOOTSTRAP, batch_rows=7) == "done"
    export.refresh_from_db()
    assert export.sha256 != first.sha256  # batches of 7 rows: other Parquet row groups, other bytes...
    assert run_export(export.pk) == "skipped: no such export, or already done"
    again = start_export(judged.study)
    run_export(again.pk, bootstrap=BOOTSTRAP)
    again.refresh_from_db()
    assert again.sha256 == first.sha256  # ...the default batches give the command's bytes
    # A folder holds the same files as the zip.
    folder = write_bundle(judged.study, tmp_path / "folder", bootstrap=BOOTSTRAP).path
    unzipped = _unzip(tmp_path / "one.zip", tmp_path / "unzipped")
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(unzipped) for p in unzipped.rglob("*") if p.is_file())
    assert all((folder / f).read_bytes() == (unzipped / f).read_bytes() for f in files)


def test_tables_load_with_pandas_and_datasets_offline(judged, tmp_path, monkeypatch):
    import pandas as pd

    folder = write_bundle(judged.study, tmp_path / "bundle", bootstrap=BOOTSTRAP).path
    judgements = pd.read_parquet(folder / "parquet/judgements.parquet")
    assert len(judgements) == Judgement.objects.filter(study=judged.study).count()
    assert list(judgements.columns)[:4] == ["study", "judgement_id", "item_key", "kind"]
    from_csv = pd.read_csv(folder / "csv/judgements.csv", keep_default_na=False)
    from_jsonl = pd.read_json(folder / "jsonl/judgements.jsonl", lines=True)
    assert list(from_csv.columns) == list(judgements.columns) == list(from_jsonl.columns)
    assert len(from_csv) == len(from_jsonl) == len(judgements)
    assert from_csv["judgement_id"].tolist() == judgements["judgement_id"].tolist()
    assert RATIONALE in set(from_csv["rationale"])  # quotes, commas and newlines survive CSV
    assert RATIONALE in set(from_jsonl["rationale"])
    for name in TABLES:
        assert len(pd.read_parquet(folder / f"parquet/{name}.parquet")) == sum(
            1 for _ in (folder / f"jsonl/{name}.jsonl").open()
        )

    # Hugging Face datasets, with the network forbidden: local Parquet files need nothing else.
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    from datasets import load_dataset

    loaded = load_dataset(
        "parquet",
        data_files=str(folder / "parquet/judgements.parquet"),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert loaded.num_rows == len(judgements)
    assert loaded.column_names == list(judgements.columns)
    clips = load_dataset(
        "parquet", data_files=str(folder / "parquet/clips.parquet"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert "narration" in clips.column_names


def test_rows_carry_stored_and_shown_sides_with_the_methods_behind_them(judged, tmp_path):
    import pandas as pd

    folder = write_bundle(judged.study, tmp_path / "bundle", bootstrap=BOOTSTRAP).path
    rows = pd.read_parquet(folder / "parquet/judgements.parquet").set_index("judgement_id")
    swapped = Judgement.objects.filter(study=judged.study, item__swapped=True, flag="", kind="pairwise").first()
    item = swapped.item
    row = rows.loc[swapped.pk]
    assert row["swapped"]
    assert (row["clip_a"], row["clip_b"]) == (item.clip_a.external_id, item.clip_b.external_id)
    assert (row["clip_left"], row["clip_right"]) == (item.clip_b.external_id, item.clip_a.external_id)
    assert list(row["methods_left"]) == list(row["methods_b"]) == [judged.method_of(item.credits_b)]
    assert list(row["ranks_right"]) == [item.credits_a[0]["rank"]]
    assert (row["choice"], row["winner"]) == (swapped.choice, swapped.winner)
    if swapped.choice == screen_side(item, "a"):
        assert row["winner"] == "a"
    revised = rows[rows["revision"] > 0]
    assert len(revised) == 1
    assert revised.iloc[0]["choice"] == "neither"
    assert revised["revised"].notna().all()
    flagged = rows[rows["flag"].notna()]
    assert (flagged["flag"] == "no_playback").all()
    assert flagged["choice"].isna().all()
    assert flagged["score"].isna().all()
    likert = rows[(rows["kind"] == "likert") & rows["flag"].isna()]
    shared = likert[likert["methods_a"].map(len) == 2]
    assert len(shared)  # a clip returned by both methods is credited to both, with both ranks
    assert sorted(shared.iloc[0]["methods_a"]) == ["alpha", "beta"]
    items = pd.read_parquet(folder / "parquet/items.parquet")
    assert len(items) == Item.objects.filter(study=judged.study).count()
    assert items["is_gold"].sum() == Item.objects.filter(study=judged.study, is_gold=True).count()


def test_coaches_are_pseudonymous_unless_identities_are_asked_for(judged, tmp_path):
    private = write_bundle(judged.study, tmp_path / "private", bootstrap=BOOTSTRAP).path
    everything = b"".join(p.read_bytes() for p in private.rglob("*") if p.is_file())
    for coach in judged.coaches:
        assert coach.username.encode() not in everything
        assert coach.email.encode() not in everything
        assert coach.last_name.encode() not in everything
    coaches = [json.loads(line) for line in (private / "jsonl/coaches.jsonl").open()]
    assert len(coaches) == len(judged.coaches)
    assert all(row["coach"].startswith("coach-") for row in coaches)
    assert "email" not in coaches[0]
    # Stable: a second export names them the same.
    again = write_bundle(judged.study, tmp_path / "again", bootstrap=BOOTSTRAP).path
    assert (again / "csv/coaches.csv").read_bytes() == (private / "csv/coaches.csv").read_bytes()

    named = write_bundle(judged.study, tmp_path / "named", include_identities=True, bootstrap=BOOTSTRAP).path
    rows = [json.loads(line) for line in (named / "jsonl/coaches.jsonl").open()]
    assert {row["email"] for row in rows} == {coach.email for coach in judged.coaches}
    assert [row["coach"] for row in rows] == [row["coach"] for row in coaches]
    assert "exported WITH identities" in (named / "README.md").read_text()
    assert json.loads((named / "manifest.json").read_text())["include_identities"] is True


def test_the_command_refuses_unknown_studies_and_existing_destinations(db, tmp_path):
    open_study(n_queries=1)
    with pytest.raises(CommandError, match="no study with the slug 'nope' \\(studies: serve\\)"):
        call_command("export_study", "nope", "--out", str(tmp_path / "x.zip"))
    (tmp_path / "taken.zip").write_text("")
    with pytest.raises(CommandError, match="already exists: choose another file name"):
        call_command("export_study", "serve", "--out", str(tmp_path / "taken.zip"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export_study", "serve", "--out", str(tmp_path / "full"))
    assert (tmp_path / "full" / "notes.txt").read_text() == "mine"


def test_the_admin_offers_finished_exports_to_staff_only(judged, client, django_capture_on_commit_callbacks):
    researcher = UserFactory(username="researcher", email="r@example.org", superuser=True)
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("admin:studies_study_changelist"),
            {"action": "export_dataset", "_selected_action": [judged.study.pk]},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1  # the worker task, sent once the transaction commits
    export = StudyExport.objects.get(study=judged.study)
    report = reverse("admin:studies_study_report", args=[judged.study.pk])
    download = reverse("admin:studies_study_export_download", args=[judged.study.pk, export.pk])
    assert download not in client.get(report).content.decode()
    assert client.get(download).status_code == 404
    assert run_export(export.pk, bootstrap=BOOTSTRAP) == "done"
    export.refresh_from_db()
    assert export.is_offered
    job = Job.objects.get(pk=export.job_id)
    assert (job.status, job.done) == ("done", job.total)
    assert job.total > 0
    assert download in client.get(report).content.decode()
    response = client.get(download)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == export.sha256
    client.force_login(judged.coaches[0])
    assert client.get(download).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_killed_export_leaves_no_bundle_offered(settings, client):

    judged = open_study(n_queries=1)
    _judge(judged)
    export = start_export(judged.study)
    # A worker process dies (SIGKILL) right after writing the first batch of judgements.
    script = (
        "import os, signal, django; django.setup()\n"
        "from annotations.research.export import bundle, runs\n"
        "write = bundle.TableWriter.write_batch\n"
        "def write_then_die(self, rows):\n"
        "    write(self, rows)\n"
        "    if self.name == 'judgements': os.kill(os.getpid(), signal.SIGKILL)\n"
        "bundle.TableWriter.write_batch = write_then_die\n"
        f"runs.run_export({export.pk}, batch_rows=5, bootstrap=10)\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_current_test_db(),
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        "VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr.decode()
    export.refresh_from_db()
    assert export.status == "running"
    assert not export.is_offered
    assert list(settings.EXPORT_ROOT.rglob("*.zip")) == []  # only the staging folder's partial tables
    assert any(".partial-" in p.name for p in settings.EXPORT_ROOT.rglob("*"))
    researcher = UserFactory(username="researcher", email="r@example.org", superuser=True)
    client.force_login(researcher)
    page = client.get(reverse("admin:studies_study_report", args=[judged.study.pk])).content.decode()
    assert "download zip" not in page
    # The redelivered task writes the whole bundle again.
    assert run_export(export.pk, bootstrap=10) == "done"
    export.refresh_from_db()
    assert export.is_offered
    assert "download zip" in client.get(reverse("admin:studies_study_report", args=[judged.study.pk])).content.decode()


def test_a_current_cached_report_is_used_and_gives_the_same_bytes(judged, tmp_path):
    from annotations.models import StudyReport
    from annotations.research.reports import refresh_report

    fresh = write_bundle(judged.study, tmp_path / "fresh.zip")
    refresh_report(judged.study.pk, force=True)
    cached = write_bundle(judged.study, tmp_path / "cached.zip")
    assert cached.sha256 == fresh.sha256
    # Proof that the cache was read: a marked cache shows up in the bundle...
    report = StudyReport.objects.get(study=judged.study)
    report.data["leaderboard"]["how"] = "read from the cache"
    report.save()
    marked = write_bundle(judged.study, tmp_path / "marked", bootstrap=1000).path
    assert "read from the cache" in (marked / "results.json").read_text()
    # ...and a cache that misses a change is not used.
    judgement = Judgement.objects.filter(study=judged.study, flag="", kind="likert").first()
    Judgement.objects.filter(pk=judgement.pk).update(revised=judgement.created + timedelta(minutes=5), revision=1)
    stale = write_bundle(judged.study, tmp_path / "stale", bootstrap=1000).path
    assert "read from the cache" not in (stale / "results.json").read_text()
