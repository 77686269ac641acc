"""Stream a JSONL manifest and turn each line into a typed entry, or into the reasons it is not one.

The file is read one line at a time, never whole: a gallery manifest of hundreds
of thousands of clips must import in bounded memory. Every line gets a verdict
with its problems, and no input, however broken, raises anything else.
Plain Python, no Django import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval_backend.importing.fields import (
    MAX_ID_CHARS,
    MAX_SKILL_CHARS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    FieldReader,
    json_type,
    text_problem,
)
from retrieval_backend.importing.locations import LocationError, VideoLocation, VideoLocator
from retrieval_backend.importing.report import Issue

# One line holds one video and its clips; 8 MiB is thousands of clips. Longer is a broken file,
# and reading it whole would defeat streaming.
MAX_LINE_BYTES = 8 * 1024 * 1024


@dataclass
class ManifestLine:
    """One line of the file: its number, its size in bytes (for progress), its text and decoded JSON."""

    number: int
    size: int
    text: str = ""
    data: Any = None
    issues: list[Issue] = field(default_factory=list)
    blank: bool = False


def read_lines(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[ManifestLine]:
    """Yield every line of a JSONL file with its JSON decoded, or with the issue that stopped it."""
    with open(path, "rb") as handle:
        number = 0
        while raw := handle.readline(max_line_bytes + 1):
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                size = len(raw) + _skip_rest_of_line(handle)
                yield ManifestLine(
                    number,
                    size,
                    issues=[Issue(number, "line", f"is longer than {max_line_bytes} bytes; split the entry")],
                )
                continue
            yield decode_line(number, raw)


def _skip_rest_of_line(handle: Any) -> int:
    skipped = 0
    while chunk := handle.readline(1 << 20):
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return skipped


def decode_line(number: int, raw: bytes) -> ManifestLine:
    """Decode one line's bytes into a JSON object, or explain why it isn't one."""
    line = ManifestLine(number, len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line.issues.append(Issue(number, "line", f"is not UTF-8 text (bad byte at position {exc.start + 1})"))
        return line
    if number == 1:
        text = text.removeprefix("\ufeff")
    line.text = text.rstrip("\r\n")
    if not text.strip():
        line.blank = True
        return line
    try:
        # NaN and Infinity become floats here so that the field that holds them is named in the error.
        # Without its line break, so that a line cut short is reported at its end, not at column 1 of "line 2".
        data = json.loads(line.text, parse_constant=float)
    except json.JSONDecodeError as exc:
        line.issues.append(Issue(number, "line", f"is not valid JSON: {exc.msg} (column {exc.colno})"))
        return line
    except RecursionError:
        line.issues.append(Issue(number, "line", "is not valid JSON here: it is nested too deeply"))
        return line
    except ValueError as exc:
        # Integers with thousands of digits: Python refuses to convert them.
        line.issues.append(Issue(number, "line", f"is not valid JSON here: {exc}"))
        return line
    if not isinstance(data, dict):
        line.issues.append(Issue(number, "line", f"must be a JSON object {{...}}, not {json_type(data)}"))
        return line
    line.data = data
    return line


@dataclass
class ClipEntry:
    """One demonstration clip of a gallery line; a field is ``None`` when it was invalid."""

    index: int
    external_id: str | None
    start_s: float | None
    end_s: float | None
    skill: str
    narration: str | None

    @property
    def path(self) -> str:
        return f"clips[{self.index}]"


@dataclass
class GalleryEntry:
    """One gallery line: a video and its clips."""

    line: int
    location: VideoLocation | None
    video_text: str | None
    sport: str | None
    title: str
    external_id: str | None
    clips: list[ClipEntry]


@dataclass
class QueryEntry:
    """One mistake query line: a segment of a recording, what is wrong in it, and known helpful clips."""

    line: int
    external_id: str | None
    location: VideoLocation | None
    video_text: str | None
    sport: str | None
    skill: str
    start_s: float | None
    end_s: float | None
    mistake: str | None
    positives: list[tuple[int, str]]


def _location(reader: FieldReader, data: dict[str, Any], locator: VideoLocator) -> tuple:
    text = reader.text(data, "video", "video", max_chars=10 * 1024)
    if text is None:
        return None, None
    try:
        return locator.locate(text), text
    except LocationError as exc:
        reader.fail("video", str(exc))
        return None, text


def parse_gallery_line(line: ManifestLine, locator: VideoLocator) -> tuple[GalleryEntry | None, list[Issue]]:
    """Check one gallery line's fields; the entry holds what was readable, the issues what was not."""
    if line.data is None:
        return None, list(line.issues)
    data: dict[str, Any] = line.data
    reader = FieldReader(line.number)
    location, video_text = _location(reader, data, locator)
    sport = reader.sport(data)
    title = reader.text(data, "title", "title", required=False, max_chars=MAX_TITLE_CHARS, blank_ok=True) or ""
    external_id = reader.text(data, "external_id", "external_id", required=False, max_chars=MAX_ID_CHARS)
    clips: list[ClipEntry] = []
    for index, raw_clip in enumerate(reader.array(data, "clips", "clips") or []):
        path = f"clips[{index}]"
        clip = reader.obj(raw_clip, path)
        if clip is None:
            continue
        start, end = reader.segment(clip, f"{path}.")
        clips.append(
            ClipEntry(
                index=index,
                external_id=reader.text(clip, "id", f"{path}.id", max_chars=MAX_ID_CHARS),
                start_s=start,
                end_s=end,
                skill=reader.text(
                    clip, "skill", f"{path}.skill", required=False, max_chars=MAX_SKILL_CHARS, blank_ok=True
                )
                or "",
                narration=reader.text(clip, "narration", f"{path}.narration", max_chars=MAX_TEXT_CHARS),
            )
        )
    entry = GalleryEntry(
        line=line.number,
        location=location,
        video_text=video_text,
        sport=sport,
        title=title,
        external_id=external_id,
        clips=clips,
    )
    return entry, reader.issues


def parse_query_line(line: ManifestLine, locator: VideoLocator) -> tuple[QueryEntry | None, list[Issue]]:
    """Check one mistake query line's fields; the entry holds what was readable, the issues what was not."""
    if line.data is None:
        return None, list(line.issues)
    data: dict[str, Any] = line.data
    reader = FieldReader(line.number)
    external_id = reader.text(data, "id", "id", max_chars=MAX_ID_CHARS)
    location, video_text = _location(reader, data, locator)
    sport = reader.sport(data)
    skill = reader.text(data, "skill", "skill", required=False, max_chars=MAX_SKILL_CHARS, blank_ok=True) or ""
    start, end = reader.segment(data, "")
    mistake = reader.text(data, "mistake", "mistake", max_chars=MAX_TEXT_CHARS)
    positives: list[tuple[int, str]] = []
    for index, value in enumerate(reader.array(data, "positives", "positives", required=False) or []):
        path = f"positives[{index}]"
        if not isinstance(value, str) or not value.strip():
            reader.fail(path, f"must be a clip id (a non-empty string), not {json_type(value)}")
        elif len(value) > MAX_ID_CHARS:
            reader.fail(path, f"is {len(value)} characters long; clip ids have at most {MAX_ID_CHARS}")
        elif problem := text_problem(value):
            reader.fail(path, problem)
        else:
            positives.append((index, value.strip()))
    entry = QueryEntry(
        line=line.number,
        external_id=external_id,
        location=location,
        video_text=video_text,
        sport=sport,
        skill=skill,
        start_s=start,
        end_s=end,
        mistake=mistake,
        positives=positives,
    )
    return entry, reader.issues
