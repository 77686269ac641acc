"""import_candidates: whole files or nothing (unless --skip-invalid), every wrong line reported as LINE: FIELD: problem.

Candidate files are a manifest kind of ``retrieval_backend.importing``, so they behave as a gallery manifest does.
"""

from __future__ import annotations

import io
import json
import re
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retrieval_backend.candidates.importing import CandidateImport
from retrieval_backend.importing.importer import ImportFailed, ImportOptions
from retrieval_backend.models import Candidate, CandidateSet, Clip, MistakeQuery, RetrievalMethod, Sport, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery():
    sport = Sport.objects.create(slug="golf", name="Golf")
    video = Video.objects.create(sport=sport, source_uri="/v/g.mp4")
    for i in range(5):
        Clip.objects.create(video=video, sport=sport, external_id=f"abc-{i}", start_s=i, end_s=i + 1, narration="n")
    qvideo = Video.objects.create(sport=sport, source_uri="/v/q.mp4", role="query")
    for i in range(16):
        MistakeQuery.objects.create(
            video=qvideo, sport=sport, external_id=f"q-{i}", start_s=0, end_s=1, mistake="early release"
        )
    return RetrievalMethod.objects.create(name="sportskills-v2", backend="imported")


def _line(query="q-0", method="sportskills-v2", clips=("abc-1", "abc-0"), scores=(0.91, 0.5), **extra) -> str:
    return json.dumps({"query": query, "method": method, "clips": list(clips), "scores": list(scores), **extra})


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "candidates.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_candidates", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _errors_of(path: Path, *args: str) -> list[str]:
    """The reported problem lines (``LINE: FIELD: ...``) of an import that must fail, as import_gallery reports them."""
    with pytest.raises(CommandError, match="nothing was imported") as failure:
        call_command("import_candidates", str(path), *args, stdout=StringIO(), stderr=StringIO())
    return [line for line in str(failure.value).splitlines() if re.match(r"\d+: ", line)]


def test_it_imports_ranked_clips_with_their_scores(gallery, tmp_path):
    path = _write(tmp_path, _line(), "", _line(query="q-1", clips=["abc-3"], scores=[2]))
    out, _ = _run(path)
    assert "imported 2 candidate sets from 3 lines (0 replaced earlier sets)" in out
    first = CandidateSet.objects.get(query__external_id="q-0", method=gallery)
    assert (first.source, first.k) == ("imported", 2)
    assert list(first.candidates.values_list("rank", "clip__external_id", "score")) == [
        (1, "abc-1", 0.91),
        (2, "abc-0", 0.5),
    ]


def test_importing_again_replaces_the_set_instead_of_adding_to_it(gallery, tmp_path):
    _run(_write(tmp_path, _line()))
    out, _ = _run(_write(tmp_path, _line(clips=["abc-4", "abc-2", "abc-1"], scores=[3, 3, 1])))
    assert "(1 replaced earlier sets)" in out
    (only,) = CandidateSet.objects.all()
    assert list(only.candidates.values_list("clip__external_id", flat=True)) == ["abc-4", "abc-2", "abc-1"]
    assert only.k == 3


def test_every_wrong_line_is_reported_and_nothing_is_imported(gallery, tmp_path):
    path = _write(
        tmp_path,
        _line(),  # 1: fine, but must not be imported
        _line(query="q-404"),  # 2
        _line(query="q-3", clips=["abc-1", "zzz-9"]),  # 3
        _line(query="q-4", clips=["abc-1", "abc-1"]),  # 4
        _line(query="q-5", scores=[0.5]),  # 5
        _line(query="q-6", scores=[0.5, 0.9]),  # 6
        '{"query": "q-2", "method": ',  # 7
        _line(query="q-0"),  # 8: same query and method as line 1
        json.dumps({"query": "q-9", "method": "sportskills-v2", "clips": "abc-1", "scores": [1]}),  # 9
        _line(query="q-10", scores=[1, "high"]),  # 10
        json.dumps(["q-0", "sportskills-v2"]),  # 11
        json.dumps({"query": "q-12", "method": "sportskills-v2", "clips": ["abc-1"]}),  # 12
        _line(query="q-13", scroes=[1]),  # 13
        _line(query=17),  # 14
        _line(query="q-15", scores=[1, float("nan")]),  # 15
    )
    errors = _errors_of(path)
    assert errors == [
        '2: query: unknown query "q-404"; give a mistake query external id.',
        '3: clips[1]: unknown clip "zzz-9".',
        '4: clips[1]: "abc-1" is listed twice (first at clips[0]).',
        "5: scores: 1 scores for 2 clips; give one score per clip.",
        "6: scores[1]: 0.9 is higher than the score before it (0.5); list clips best first, "
        "with scores that never increase (ties are fine).",
        "7: line: is not valid JSON: Expecting value (column 28)",
        '8: query: "q-0" with method "sportskills-v2" was already given on line 1; give each query and method once.',
        '9: clips: must be a list of clip external ids, not "abc-1".',
        '10: scores[1]: must be a finite number, not "high".',
        "11: line: must be a JSON object {...}, not an array",
        "12: scores: missing.",
        "13: scroes: unexpected field; a line has only query, method, clips, scores.",
        "14: query: must be a non-empty string (an external id or name), not 17.",
        "15: scores[1]: must be a finite number, not NaN.",
    ]
    assert not CandidateSet.objects.exists()
    assert not Candidate.objects.exists()


def test_unknown_ids_on_a_misshapen_line_are_reported_in_the_same_round(gallery, tmp_path):
    path = _write(
        tmp_path,
        _line(query="demo-q-01", clips=["abc-1", "abc-1", "nope-7"], scores=[3, 2, 1]),
        _line(query="q-2", method="no-such-method", scores=[0.5]),
        json.dumps({"query": "q-404", "method": 5, "clips": [7, "zzz-1"], "scores": [1, 1]}),
    )
    assert _errors_of(path) == [
        '1: clips[1]: "abc-1" is listed twice (first at clips[0]).',
        '1: query: unknown query "demo-q-01"; give a mistake query external id.',
        '1: clips[2]: unknown clip "nope-7".',
        "2: scores: 1 scores for 2 clips; give one score per clip.",
        '2: method: unknown method "no-such-method"; existing methods: sportskills-v2. '
        "Pass --create-methods to create it as an imported method.",
        "3: method: must be a non-empty string (an external id or name), not 5.",
        "3: clips[0]: must be a clip external id (a string), not 7.",
        '3: query: unknown query "q-404"; give a mistake query external id.',
        '3: clips[1]: unknown clip "zzz-1".',
    ]
    assert not CandidateSet.objects.exists()


def test_an_unknown_method_is_an_error_unless_methods_may_be_created(gallery, tmp_path):
    path = _write(tmp_path, _line(method="cluster-run-7"))
    assert _errors_of(path) == [
        '1: method: unknown method "cluster-run-7"; existing methods: sportskills-v2. '
        "Pass --create-methods to create it as an imported method."
    ]
    assert not RetrievalMethod.objects.filter(name="cluster-run-7").exists()
    out, _ = _run(path, "--create-methods")
    assert "created methods cluster-run-7" in out
    created = RetrievalMethod.objects.get(name="cluster-run-7")
    assert created.backend == "imported"
    assert created.candidate_sets.get().source == "imported"


def test_a_method_created_by_a_rejected_file_is_rolled_back_too(gallery, tmp_path):
    path = _write(tmp_path, _line(method="cluster-run-7"), _line(query="q-404"))
    _errors_of(path, "--create-methods")
    assert not RetrievalMethod.objects.filter(name="cluster-run-7").exists()


def test_a_method_name_that_cannot_be_created_says_why(gallery, tmp_path):
    path = _write(tmp_path, _line(method="Sport Skills v2"))
    assert _errors_of(path, "--create-methods") == [
        '1: method: "Sport Skills v2" cannot be a method name: use letters, digits, hyphens and underscores only.'
    ]


def test_ties_are_allowed(gallery, tmp_path):
    _run(_write(tmp_path, _line(clips=["abc-0", "abc-1", "abc-2"], scores=[0.7, 0.7, 0.7])))
    assert Candidate.objects.count() == 3


def test_lookups_are_batched_not_one_per_line(gallery, tmp_path):
    path = _write(
        tmp_path,
        *(
            _line(query=f"q-{i % 3}", method=f"m-{i}", clips=["abc-0", "abc-1", "abc-2", "abc-3"], scores=[4, 3, 2, 1])
            for i in range(60)
        ),
    )
    with CaptureQueriesContext(connection) as queries:
        result = CandidateImport(path, ImportOptions(create_methods=True)).run()
    assert result.counts["sets"] == 60
    lookups = [q["sql"] for q in queries if 'FROM "retrieval_backend_clip"' in q["sql"]]
    assert len(lookups) == 2  # one per pass (check, then write) for the whole batch


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="there is no manifest file at"):
        call_command("import_candidates", str(tmp_path / "nope.jsonl"))


def test_a_file_that_is_not_utf8_is_reported_per_line(gallery, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(_line().encode() + b"\n" + '{"query": "q-é"}'.encode("latin-1") + b"\n")
    assert _errors_of(path) == ["2: line: is not UTF-8 text (bad byte at position 14)"]


def test_an_imported_method_stays_editable_in_the_admin(db, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from retrieval_backend.models import RetrievalMethod

    method = RetrievalMethod.objects.create(name="cluster-v2", backend="imported")
    admin = get_user_model().objects.create_superuser("admin", "a@example.org", "pw-for-tests-123")
    client.force_login(admin)
    url = reverse("admin:retrieval_backend_retrievalmethod_change", args=[method.pk])
    response = client.post(
        url, {"name": "cluster-v2", "backend": "imported", "params": "{}", "version": "2", "description": "ours"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    method.refresh_from_db()
    assert (method.version, method.description) == ("2", "ours")


# --- the gallery import's behaviours, now candidate files' too ------------------------------------


def _sets() -> dict[tuple[str, str], list[tuple[int, str, float]]]:
    """Every stored set's ranking, by (query, method): what a re-run must leave as it was."""
    return {
        (s.query.external_id, s.method.name): list(s.candidates.values_list("rank", "clip__external_id", "score"))
        for s in CandidateSet.objects.select_related("query", "method")
    }


def test_a_bad_line_makes_the_default_import_write_nothing_and_names_skip_invalid(gallery, tmp_path):
    path = _write(tmp_path, _line(), _line(query="q-1", clips=["abc-2", "abc-9"]), _line(query="q-2"))
    with pytest.raises(CommandError) as failure:
        _run(path)
    message = str(failure.value)
    assert message.startswith(f"1 problem(s) on 1 line(s) of {path}; nothing was imported.")
    assert '2: clips[1]: unknown clip "abc-9".' in message.splitlines()
    assert "pass --skip-invalid to import the valid candidate lines" in message
    assert not CandidateSet.objects.exists()
    assert not (tmp_path / "candidates.rejected.jsonl").exists()


def test_skip_invalid_imports_the_valid_lines_and_writes_the_rejected_with_their_reasons(gallery, tmp_path):
    bad_clip = {"query": "q-1", "method": "sportskills-v2", "clips": ["abc-2", "abc-9"], "scores": [2, 1]}
    path = _write(
        tmp_path,
        _line(),
        json.dumps(bad_clip),
        "",
        "{not json",
        _line(query="q-0"),  # the same query and method as line 1
        _line(query="q-5", clips=["abc-3"], scores=[1]),
    )
    out, _ = _run(path, "--skip-invalid")
    rejected_path = tmp_path / "candidates.rejected.jsonl"
    assert "imported 2 candidate sets from 6 lines (0 replaced earlier sets)" in out
    assert f"3 line(s) rejected, written with their reasons to {rejected_path}" in out
    assert set(_sets()) == {("q-0", "sportskills-v2"), ("q-5", "sportskills-v2")}
    rejected = [json.loads(line) for line in rejected_path.read_text().splitlines()]
    assert rejected == [
        {**bad_clip, "errors": ['2: clips[1]: unknown clip "abc-9".']},
        {
            "line": 4,
            "text": "{not json",
            "errors": ["4: line: is not valid JSON: Expecting property name enclosed in double quotes (column 2)"],
        },
        {
            **json.loads(_line(query="q-0")),
            "errors": [
                '5: query: "q-0" with method "sportskills-v2" was already given on line 1; '
                "give each query and method once."
            ],
        },
    ]


def test_skip_invalid_creates_only_the_methods_of_the_lines_it_imports(gallery, tmp_path):
    path = _write(tmp_path, _line(method="run-kept"), _line(query="q-404", method="run-dropped"))
    out, _ = _run(path, "--skip-invalid", "--create-methods")
    assert "created methods run-kept; 1 line(s) rejected" in out
    assert set(RetrievalMethod.objects.values_list("name", flat=True)) == {"sportskills-v2", "run-kept"}


def test_a_file_of_only_bad_lines_with_skip_invalid_imports_nothing_and_says_so(gallery, tmp_path):
    path = _write(tmp_path, _line(query="q-404"))
    out, _ = _run(path, "--skip-invalid")
    assert "imported 0 candidate sets from 1 lines (0 replaced earlier sets); 1 line(s) rejected" in out
    assert not CandidateSet.objects.exists()


def test_importing_the_same_file_again_leaves_the_same_sets(gallery, tmp_path):
    path = _write(
        tmp_path,
        *(_line(query=f"q-{i}", clips=[f"abc-{i % 5}", f"abc-{(i + 1) % 5}"], scores=[1.0, 0.5]) for i in range(12)),
    )
    _run(path)
    first = _sets()
    out, _ = _run(path)
    assert "imported 12 candidate sets from 12 lines (12 replaced earlier sets)" in out
    assert _sets() == first
    assert CandidateSet.objects.count() == 12
    assert Candidate.objects.count() == 24


def test_a_file_larger_than_a_batch_is_checked_whole_before_anything_is_written(gallery, tmp_path):
    # Two batches of lines: the bad line is in the second, after the first was checked (and, before, would be written).
    lines = [_line(query=f"q-{i % 16}", method=f"m-{i // 16}") for i in range(32)]
    lines[-1] = _line(query="q-404", method="m-1")
    path = _write(tmp_path, *lines)
    with pytest.raises(ImportFailed) as failure:
        CandidateImport(path, ImportOptions(create_methods=True, batch_lines=10)).run()
    assert [str(issue) for issue in failure.value.issues] == [
        '32: query: unknown query "q-404"; give a mistake query external id.'
    ]
    assert not CandidateSet.objects.exists()
    assert not RetrievalMethod.objects.filter(name__startswith="m-").exists()


def test_standard_input_is_read_as_a_file(gallery, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((_line() + "\n").encode())))
    out, _ = _run(Path("-"), "--create-methods")
    assert "imported 1 candidate sets from 1 lines (0 replaced earlier sets)" in out
    with pytest.raises(CommandError, match="standard input has none"):
        _run(Path("-"), "--skip-invalid")
