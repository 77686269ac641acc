"""Reading manifest lines: every kind of junk becomes a reported error naming its line and field, never a crash."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval_backend.importing.fields import MAX_TEXT_CHARS
from retrieval_backend.importing.locations import LocationError, VideoLocator
from retrieval_backend.importing.manifest import (
    ManifestLine,
    decode_line,
    parse_gallery_line,
    parse_query_line,
    read_lines,
)
from retrieval_backend.importing.report import IssueLog, RejectedLines, rejected_path_for

BASE = Path("/nonexistent-manifest-folder")
LOCATOR = VideoLocator(BASE, [])
GOOD_CLIP = {"id": "abc-1", "start": 12.5, "end": 19.0, "skill": "jump shot", "narration": "Keep your elbow in."}


def gallery(obj, number: int = 1):
    return parse_gallery_line(decode_line(number, (json.dumps(obj) + "\n").encode()), LOCATOR)


def query(obj, number: int = 1):
    return parse_query_line(decode_line(number, (json.dumps(obj) + "\n").encode()), LOCATOR)


def messages(issues) -> list[str]:
    return [str(issue) for issue in issues]


def good_video(**changes):
    return {"video": "videos/abc.mp4", "sport": "basketball", "clips": [dict(GOOD_CLIP)], **changes}


def test_it_reads_a_valid_gallery_line_into_typed_fields():
    entry, issues = gallery(good_video(title="Jump shot basics", external_id="yt:abc"), number=3)
    assert issues == []
    assert entry.line == 3
    assert entry.location.uri == str(BASE / "videos/abc.mp4")
    assert not entry.location.is_remote
    assert (entry.sport, entry.title, entry.external_id) == ("basketball", "Jump shot basics", "yt:abc")
    clip = entry.clips[0]
    assert (clip.external_id, clip.start_s, clip.end_s, clip.skill) == ("abc-1", 12.5, 19.0, "jump shot")
    assert clip.narration == "Keep your elbow in."


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sport": None}, "1: sport: missing: this field is required"),
        ({"clips": "abc-1"}, "1: clips: must be an array, not a string"),
        ({"clips": [5]}, "1: clips[0]: must be an object, not a number (5)"),
        ({"sport": "Basket Ball"}, "1: sport: 'Basket Ball' is not a sport slug"),
        ({"sport": "a" * 65}, "1: sport: "),
        ({"video": ""}, "1: video: is empty"),
        ({"video": 17}, "1: video: must be a string, not a number (17)"),
        ({"video": "ftp://host/a.mp4"}, "1: video: ftp:// URLs are not supported"),
        ({"video": "https:///a.mp4"}, "1: video: 'https:///a.mp4' is not a URL with a host name"),
        ({"title": "t" * 501}, "1: title: is 501 characters long; the limit is 500"),
        ({"external_id": True}, "1: external_id: must be a string, not true/false (True)"),
    ],
)
def test_it_names_the_field_and_the_problem_of_a_video(changes, expected):
    obj = {k: v for k, v in good_video(**changes).items() if v is not None}
    _, issues = gallery(obj)
    assert any(m.startswith(expected) for m in messages(issues)), messages(issues)


@pytest.mark.parametrize(
    ("clip_changes", "expected"),
    [
        ({"start": "12"}, "1: clips[0].start: must be a number of seconds, not a string ('12')"),
        ({"start": -1}, "1: clips[0].start: -1 is negative"),
        ({"start": 20}, "1: clips[0].end: 19.0 is not after the start (20)"),
        ({"start": 19.0}, "1: clips[0].end: 19.0 is not after the start (19.0)"),
        ({"end": float("nan")}, "1: clips[0].end: NaN is not a finite number of seconds"),
        ({"end": float("inf")}, "1: clips[0].end: Infinity is not a finite number of seconds"),
        ({"end": 10**9}, "1: clips[0].end: 1000000000 is more than 86400 s (24 hours) into the video"),
        ({"end": True}, "1: clips[0].end: must be a number of seconds, not true/false"),
        ({"narration": "   "}, "1: clips[0].narration: is empty"),
        ({"narration": None}, "1: clips[0].narration: missing: this field is required"),
        ({"narration": "x" * (MAX_TEXT_CHARS + 1)}, f"1: clips[0].narration: is {MAX_TEXT_CHARS + 1} characters"),
        ({"id": ""}, "1: clips[0].id: is empty"),
        ({"id": ["abc"]}, "1: clips[0].id: must be a string, not an array"),
        ({"skill": 3}, "1: clips[0].skill: must be a string, not a number (3)"),
    ],
)
def test_it_names_the_field_and_the_problem_of_a_clip(clip_changes, expected):
    clip = {k: v for k, v in {**GOOD_CLIP, **clip_changes}.items() if v is not None}
    _, issues = gallery(good_video(clips=[clip]))
    assert any(m.startswith(expected) for m in messages(issues)), messages(issues)


def test_a_huge_integer_is_reported_as_too_large():
    _, issues = gallery(good_video(clips=[{**GOOD_CLIP, "end": 10**400}]))
    assert any("is too large for a time in seconds" in m for m in messages(issues))


def test_it_reports_every_bad_field_of_a_line_not_only_the_first():
    obj = {"video": 5, "sport": "Bad Sport", "clips": [{"id": "a", "start": -1, "end": "x"}]}
    _, issues = gallery(obj, number=7)
    fields = [issue.field for issue in issues]
    assert fields == ["video", "sport", "clips[0].start", "clips[0].end", "clips[0].narration"]
    assert all(issue.line == 7 for issue in issues)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"video": "a.mp4",\n', "4: line: is not valid JSON: Expecting property name enclosed in double quotes"),
        (b"not json\n", "4: line: is not valid JSON: Expecting value (column 1)"),
        (b"[1, 2]\n", "4: line: must be a JSON object {...}, not an array"),
        (b'"a string"\n', "4: line: must be a JSON object {...}, not a string"),
        (b"null\n", "4: line: must be a JSON object {...}, not null"),
        (b"\xff\xfe{}\n", "4: line: is not UTF-8 text (bad byte at position 1)"),
        (b"[" * 100_000 + b"\n", "4: line: is not valid JSON here: it is nested too deeply"),
        (b'{"a": ' + b"9" * 5000 + b"}\n", "4: line: is not valid JSON here: Exceeds the limit"),
    ],
)
def test_a_line_that_is_not_a_json_object_is_reported(raw, expected):
    entry, issues = parse_gallery_line(decode_line(4, raw), LOCATOR)
    assert entry is None
    assert len(issues) == 1
    assert str(issues[0]).startswith(expected), str(issues[0])


def test_blank_lines_and_a_byte_order_mark_are_ignored(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(good_video()).encode() + b"\n\n   \r\n")
    lines = list(read_lines(path))
    assert [line.blank for line in lines] == [False, True, True]
    assert lines[0].data["sport"] == "basketball"
    assert sum(line.size for line in lines) == path.stat().st_size


def test_an_over_long_line_is_reported_and_the_next_line_still_read(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(good_video(title="x" * 5000)) + "\n" + json.dumps(good_video()) + "\n")
    lines = list(read_lines(path, max_line_bytes=1000))
    assert [str(i) for i in lines[0].issues] == ["1: line: is longer than 1000 bytes; split the entry"]
    assert lines[1].number == 2
    assert lines[1].data == good_video()


def test_it_reads_a_valid_query_line():
    obj = {
        "id": "q-17",
        "video": "queries/q17.mp4",
        "sport": "basketball",
        "skill": "jump shot",
        "start": 0.0,
        "end": 6.0,
        "mistake": "My elbow flares out when I release.",
        "positives": ["abc-1", "abc-2"],
    }
    entry, issues = query(obj)
    assert issues == []
    assert (entry.external_id, entry.start_s, entry.end_s) == ("q-17", 0.0, 6.0)
    assert entry.positives == [(0, "abc-1"), (1, "abc-2")]


def test_it_names_each_bad_field_of_a_query():
    obj = {"id": 17, "video": "q.mp4", "sport": "tennis", "start": 4, "end": 2, "mistake": "", "positives": [1, ""]}
    _, issues = query(obj, number=2)
    assert messages(issues) == [
        "2: id: must be a string, not a number (17)",
        "2: end: 2 is not after the start (4)",
        "2: mistake: is empty",
        "2: positives[0]: must be a clip id (a non-empty string), not a number",
        "2: positives[1]: must be a clip id (a non-empty string), not a string",
    ]


def test_relative_paths_start_at_the_manifest_folder_and_urls_are_kept(tmp_path: Path):
    locator = VideoLocator(tmp_path, [])
    assert locator.locate("videos/../videos/a.mp4").uri == str(tmp_path.resolve() / "videos" / "a.mp4")
    assert locator.locate("/abs/a.mp4").uri == "/abs/a.mp4"
    remote = locator.locate("https://media.example.org/a.mp4")
    assert remote.is_remote
    assert remote.uri == "https://media.example.org/a.mp4"


def test_paths_outside_the_allowed_roots_are_refused_even_through_a_link(tmp_path: Path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (tmp_path / "secret.mp4").write_bytes(b"x")
    os.symlink(tmp_path / "secret.mp4", allowed / "link.mp4")
    locator = VideoLocator(allowed, [allowed.resolve()])
    assert locator.locate("inside.mp4").uri == str(allowed.resolve() / "inside.mp4")
    for escape in ["../secret.mp4", str(tmp_path / "secret.mp4"), "link.mp4", "sub/../../secret.mp4"]:
        with pytest.raises(LocationError, match="outside the folders videos may come from"):
            locator.locate(escape)
    # A sibling folder whose name starts with the allowed one is outside too.
    with pytest.raises(LocationError, match="VIDEO_ALLOWED_ROOTS"):
        locator.locate(str(tmp_path / "allowed-not" / "a.mp4"))


def test_issues_come_out_sorted_by_line_and_the_rejected_file_keeps_the_original(tmp_path: Path):
    log = IssueLog()
    log.add(9, "video", "no such file")
    log.add(2, "clips[0].end", "19.0 is past the video's end (15.2 s)")
    log.add(2, "sport", "missing")
    assert log.format().splitlines() == [
        "2: clips[0].end: 19.0 is past the video's end (15.2 s)",
        "2: sport: missing",
        "9: video: no such file",
    ]
    manifest = tmp_path / "gallery.jsonl"
    with RejectedLines(rejected_path_for(manifest)) as rejected:
        rejected.write(2, {"video": "a.mp4"}, '{"video": "a.mp4"}', log.for_line(2))
        rejected.write(9, None, "not json", log.for_line(9))
    rows = [json.loads(line) for line in (tmp_path / "gallery.rejected.jsonl").read_text().splitlines()]
    assert rows[0] == {"video": "a.mp4", "errors": [str(i) for i in log.for_line(2)]}
    assert rows[1] == {"line": 9, "text": "not json", "errors": ["9: video: no such file"]}


# --- properties: no input makes the parser raise --------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**50), max_value=10**50),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
gallery_keys = st.sampled_from(["video", "sport", "title", "external_id", "clips", "id", "start", "end", "narration"])
query_keys = st.sampled_from(["id", "video", "sport", "skill", "start", "end", "mistake", "positives"])
clip_like = st.dictionaries(st.sampled_from(["id", "start", "end", "skill", "narration"]), json_values, max_size=6)


def _assert_verdict(line: ManifestLine, result) -> None:
    entry, issues = result
    assert entry is not None or issues, "a line is either read or reported"
    for issue in issues:
        assert issue.line == line.number
        assert issue.field
        assert issue.message


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes):
    line = decode_line(5, raw)
    if line.blank:
        return
    _assert_verdict(line, parse_gallery_line(line, LOCATOR))
    _assert_verdict(line, parse_query_line(line, LOCATOR))


@PROPERTY_SETTINGS
@given(json_values)
def test_arbitrary_json_values_never_raise(value):
    raw = json.dumps(value).encode() + b"\n"
    line = decode_line(1, raw)
    _assert_verdict(line, parse_gallery_line(line, LOCATOR))
    _assert_verdict(line, parse_query_line(line, LOCATOR))


@PROPERTY_SETTINGS
@given(
    st.dictionaries(gallery_keys, json_values, max_size=8),
    st.lists(st.one_of(clip_like, json_values), max_size=4),
)
def test_objects_with_the_right_keys_and_junk_values_never_raise(obj, clips):
    obj = {**obj, "clips": clips}
    line = decode_line(1, json.dumps(obj).encode())
    _assert_verdict(line, parse_gallery_line(line, LOCATOR))


@PROPERTY_SETTINGS
@given(st.dictionaries(query_keys, json_values, max_size=8))
def test_query_objects_with_junk_values_never_raise(obj):
    line = decode_line(1, json.dumps(obj).encode())
    _assert_verdict(line, parse_query_line(line, LOCATOR))


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_video_paths_are_located_or_refused_with_a_reason(value: str):
    locator = VideoLocator(BASE, [BASE])
    try:
        location = locator.locate(value)
    except LocationError as exc:
        reason = str(exc)
        assert reason
    else:
        assert location.is_remote or location.uri.startswith(str(BASE))
