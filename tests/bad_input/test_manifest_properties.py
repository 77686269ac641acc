"""Whole manifest files with broken lines mixed into good ones: a clear error per bad line and nothing
imported, or (when every line is fine) exactly what the file says, never an unexpected exception.

Hypothesis writes the files: good lines, lines with one field replaced by junk (wrong types, huge
numbers, NaN and infinity, negative or reversed times, NUL, half surrogate pairs, right-to-left
marks, empty and very long strings), lines missing a required field, duplicated ids and lines
that are not JSON objects at all. Each file goes through the real importer on the real database.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval_backend.candidates.importing import CandidateImport
from retrieval_backend.importing.gallery import GalleryImport
from retrieval_backend.importing.importer import ImportFailed, ImportOptions
from retrieval_backend.importing.queries import QueryImport
from retrieval_backend.importing.videos import ProbeMode
from retrieval_backend.models import CandidateSet, Clip, MistakeQuery, Video
from tests.bad_input.junk import certainly_wrong_values, dump, json_junk, raw_junk_line
from tests.bad_input.rows import row_counts
from tests.factories import ClipFactory, MistakeQueryFactory, RetrievalMethodFactory, SportFactory, VideoFactory

pytestmark = pytest.mark.django_db

PROPERTIES = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
LINES = 5


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory) -> Path:
    """Files for the manifests to name; with ``--probe none`` only their existence is checked."""
    folder = tmp_path_factory.mktemp("manifests")
    (folder / "videos").mkdir()
    for i in range(LINES):
        (folder / "videos" / f"v{i}.mp4").write_bytes(b"not probed")
    return folder


@dataclass
class ManifestFile:
    lines: list[Any]  # the object written on each line, or the raw bytes of a line that is not one
    must_fail: set[int] = field(default_factory=set)  # 1-based lines owed a reported problem
    touched: set[int] = field(default_factory=set)  # lines changed from a good one (may or may not be wrong)

    def write(self, path: Path, ascii_only: bool) -> Path:
        with open(path, "wb") as out:
            for line in self.lines:
                out.write(line + b"\n" if isinstance(line, bytes) else dump(line, ascii_only=ascii_only))
        return path


def _set(obj: dict, dotted: str, value: Any) -> None:
    """Set ``clips[0].start`` and the like; ``value`` ``...`` deletes the key."""
    target = obj
    parts = dotted.replace("[0]", ".0").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    key = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is ...:
        del target[key]
    else:
        target[key] = value


@st.composite
def broken_files(draw, good_line, required_text, required_seconds, optional, duplicable) -> ManifestFile:
    """Good lines, each possibly broken in one way; which ways must be reported is recorded."""
    file = ManifestFile(lines=[good_line(i) for i in range(LINES)])
    kept: list[int] = []
    for i in range(LINES):
        number = i + 1
        how = draw(st.sampled_from(["keep", "keep", "junk", "wrong-text", "wrong-time", "missing", "dup", "raw"]))
        line = file.lines[i]
        if how == "keep" or (how == "dup" and not kept):
            kept.append(i)
            continue
        file.touched.add(number)
        if how == "junk":
            _set(line, draw(st.sampled_from(required_text + required_seconds + optional)), draw(json_junk))
            continue
        file.must_fail.add(number)
        if how == "wrong-text":
            _set(line, draw(st.sampled_from(required_text)), draw(certainly_wrong_values("text")))
        elif how == "wrong-time":
            start, end = required_seconds
            if draw(st.booleans()):
                _set(line, draw(st.sampled_from(required_seconds)), draw(certainly_wrong_values("seconds")))
            else:  # reversed or empty segment
                _set(line, end, draw(st.sampled_from([0.0, 0.25, 0.5])))
                _set(line, start, 0.5)
        elif how == "missing":
            _set(line, draw(st.sampled_from(required_text + required_seconds)), ...)
        elif how == "dup":
            earlier = file.lines[draw(st.sampled_from(kept))]
            key = draw(st.sampled_from(duplicable))
            _set(line, key, _get(earlier, key))
        elif how == "raw":
            file.lines[i] = draw(raw_junk_line)
    return file


def _get(obj: dict, dotted: str) -> Any:
    for part in dotted.replace("[0]", ".0").split("."):
        obj = obj[int(part)] if part.isdigit() else obj[part]
    return obj


def _check_verdict(run, file: ManifestFile, skip_invalid: bool, rejected_path: Path) -> tuple[bool, set[int]]:
    """Run an import; return (imported anything, lines reported). Asserts the all-or-nothing rule."""
    before = row_counts()
    rejected_path.unlink(missing_ok=True)
    try:
        result = run()
    except ImportFailed as failure:
        assert not skip_invalid, "with --skip-invalid field problems reject lines, not the import"
        reported = {issue.line for issue in failure.issues}
        assert reported, "a failed import names its lines"
        message = str(failure)
        for issue in failure.issues:
            assert issue.field, issue
            assert issue.message.strip(), issue
            str(issue).encode("utf-8")  # printable as the command prints it
        assert "nothing was imported" in message
        assert row_counts() == before, "a failed import wrote rows"
        assert not rejected_path.exists()
        return False, reported
    if skip_invalid:
        rows = [json.loads(text) for text in rejected_path.read_text(encoding="utf-8").splitlines()]
        assert result.rejected == len(rows)
        reported = set()
        for row in rows:
            assert row["errors"], row
            reported.update(int(error.split(":", 1)[0]) for error in row["errors"])
        return True, reported
    return True, set()


def _check_reported(file: ManifestFile, reported: set[int]) -> None:
    assert file.must_fail <= reported, f"lines {sorted(file.must_fail - reported)} are wrong but not reported"
    assert reported <= file.touched, f"good lines {sorted(reported - file.touched)} were blamed"


def good_gallery_line(i: int) -> dict:
    return {
        "video": f"videos/v{i}.mp4",
        "sport": "basketball",
        "title": f"Video {i}",
        "external_id": f"ext-{i}",
        "clips": [
            {"id": f"c{i}-{j}", "start": 2.0 * j, "end": 2.0 * j + 1.5, "skill": "jump shot", "narration": f"N {i}-{j}"}
            for j in range(2)
        ],
    }


gallery_files = broken_files(
    good_gallery_line,
    required_text=["video", "sport", "clips[0].id", "clips[0].narration"],
    required_seconds=["clips[0].start", "clips[0].end"],
    optional=["title", "external_id", "clips[0].skill", "clips", "clips[0]", "colour"],
    duplicable=["video", "external_id", "clips[0].id"],
)


@PROPERTIES
@given(file=gallery_files, skip_invalid=st.booleans(), ascii_only=st.booleans())
def test_a_gallery_manifest_imports_whole_or_reports_each_bad_line(video_folder, file, skip_invalid, ascii_only):
    path = file.write(video_folder / "gallery.jsonl", ascii_only)
    options = ImportOptions(probe=ProbeMode.NONE, skip_invalid=skip_invalid)
    with transaction.atomic():
        imported, reported = _check_verdict(
            GalleryImport(path, options).run, file, skip_invalid, video_folder / "gallery.rejected.jsonl"
        )
        _check_reported(file, reported)
        if imported:
            expected = {
                (clip["id"].strip(), float(clip["start"]), float(clip["end"]), clip["narration"].strip())
                for number, line in enumerate(file.lines, start=1)
                if number not in reported
                for clip in line["clips"]
            }
            got = set(Clip.objects.values_list("external_id", "start_s", "end_s", "narration"))
            assert got == expected
            assert Video.objects.count() == LINES - len(reported)
        transaction.set_rollback(True)


@pytest.fixture
def gallery_clip(db) -> Clip:
    sport = SportFactory(slug="basketball", name="Basketball")
    video = VideoFactory(sport=sport, source_uri="/gallery/g.mp4")
    return ClipFactory(video=video, sport=sport, external_id="known-1", start_s=0, end_s=1, narration="n")


def good_query_line(i: int) -> dict:
    return {
        "id": f"q-{i}",
        "video": f"videos/v{i % 2}.mp4",
        "sport": "basketball",
        "skill": "jump shot",
        "start": 0.5,
        "end": 2.0,
        "mistake": f"Elbow flares out ({i})",
        "positives": ["known-1"],
    }


query_files = broken_files(
    good_query_line,
    required_text=["id", "video", "sport", "mistake"],
    required_seconds=["start", "end"],
    optional=["skill", "positives", "colour"],
    duplicable=["id"],
)


@PROPERTIES
@given(file=query_files, skip_invalid=st.booleans(), ascii_only=st.booleans())
def test_a_query_manifest_imports_whole_or_reports_each_bad_line(
    video_folder, gallery_clip, file, skip_invalid, ascii_only
):
    path = file.write(video_folder / "queries.jsonl", ascii_only)
    options = ImportOptions(probe=ProbeMode.NONE, skip_invalid=skip_invalid)
    with transaction.atomic():
        imported, reported = _check_verdict(
            QueryImport(path, options).run, file, skip_invalid, video_folder / "queries.rejected.jsonl"
        )
        _check_reported(file, reported)
        if imported:
            expected = {
                (line["id"].strip(), float(line["start"]), float(line["end"]), line["mistake"].strip())
                for number, line in enumerate(file.lines, start=1)
                if number not in reported
            }
            got = set(MistakeQuery.objects.values_list("external_id", "start_s", "end_s", "mistake"))
            assert got == expected
        transaction.set_rollback(True)


@pytest.fixture
def candidate_world(gallery_clip) -> None:
    sport, video = gallery_clip.sport, gallery_clip.video
    for i in range(LINES):
        ClipFactory(video=video, sport=sport, external_id=f"c-{i}", start_s=i, end_s=i + 1, narration="n")
        MistakeQueryFactory(video=video, sport=sport, external_id=f"q-{i}", start_s=0, end_s=1, mistake="m")
    RetrievalMethodFactory(name="m1", backend="imported")


def good_candidate_line(i: int) -> dict:
    return {"query": f"q-{i}", "method": "m1", "clips": [f"c-{i}", f"c-{(i + 1) % LINES}"], "scores": [0.9, 0.5]}


@st.composite
def candidate_files(draw) -> ManifestFile:
    file = ManifestFile(lines=[good_candidate_line(i) for i in range(LINES)])
    kept: list[int] = []
    for i in range(LINES):
        number, line = i + 1, file.lines[i]
        how = draw(
            st.sampled_from(["keep", "keep", "junk", "wrong", "missing", "extra", "rising", "unknown", "dup", "raw"])
        )
        if how == "keep" or (how == "dup" and not kept):
            kept.append(i)
            continue
        file.touched.add(number)
        if how == "junk":
            line[draw(st.sampled_from(["query", "method", "clips", "scores"]))] = draw(json_junk)
            continue
        file.must_fail.add(number)
        if how == "wrong":
            key = draw(st.sampled_from(["query", "method", "clips[0]"]))
            _set(line, key, draw(certainly_wrong_values("text")))
        elif how == "missing":
            del line[draw(st.sampled_from(["query", "method", "clips", "scores"]))]
        elif how == "extra":
            line[draw(st.sampled_from(["score", "rank", "\u202equery"]))] = draw(json_junk)
        elif how == "rising":
            line["scores"] = draw(
                st.sampled_from([[0.1, 0.9], [float("nan"), 0.1], [0.5, float("inf")], [10**400, 1], [1], [1, 1, 1]])
            )
        elif how == "unknown":
            _set(line, draw(st.sampled_from(["query", "clips[0]"])), draw(st.sampled_from(["nope", "q\x00", "\ud800"])))
        elif how == "dup":  # the same query and method as an earlier good line
            line["query"] = file.lines[draw(st.sampled_from(kept))]["query"]
        elif how == "raw":
            file.lines[i] = draw(raw_junk_line)
    return file


@PROPERTIES
@given(file=candidate_files(), skip_invalid=st.booleans(), ascii_only=st.booleans())
def test_a_candidates_file_imports_whole_or_reports_each_bad_line(
    video_folder, candidate_world, file, skip_invalid, ascii_only
):
    path = file.write(video_folder / "candidates.jsonl", ascii_only)
    options = ImportOptions(skip_invalid=skip_invalid)
    with transaction.atomic():
        imported, reported = _check_verdict(
            CandidateImport(path, options).run, file, skip_invalid, video_folder / "candidates.rejected.jsonl"
        )
        _check_reported(file, reported)
        if imported:
            wanted = {
                (line["query"].strip(), line["method"].strip(), tuple(line["clips"]))
                for number, line in enumerate(file.lines, start=1)
                if isinstance(line, dict) and number not in reported
            }
            got = {
                (s.query.external_id, s.method.name, tuple(c.clip.external_id for c in s.candidates.order_by("rank")))
                for s in CandidateSet.objects.select_related("query", "method")
            }
            assert got == wanted
            for candidate_set in CandidateSet.objects.all():
                scores = list(candidate_set.candidates.order_by("rank").values_list("score", flat=True))
                assert all(math.isfinite(s) for s in scores)
        transaction.set_rollback(True)
