"""Reading one field of a manifest line: its type, its range, its length.

Each reader returns the value or ``None`` and records an issue naming the field,
so one pass over a line reports every field that is wrong, not just the first.
Plain Python, no Django import.
"""

from __future__ import annotations

import math
import re
from typing import Any

from retrieval_backend.importing.report import Issue

# Limits follow the database columns (external ids 255, titles 500, skills 255, paths 1024).
MAX_ID_CHARS = 255
MAX_TITLE_CHARS = 500
MAX_SKILL_CHARS = 255
MAX_SLUG_CHARS = 64
# Narrations and mistakes are a few sentences; a megabyte of text is a broken export, not a narration.
MAX_TEXT_CHARS = 10_000
# Segments are seconds into a video; a day is far beyond any instructional video.
MAX_SECONDS = 24 * 3600.0

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why a JSON string can't be stored as text, or ``None``.

    JSON may spell a NUL (``\\u0000``) or half of a surrogate pair (``\\ud83d``)
    that no database text column or UTF-8 file can hold.
    """
    if "\x00" in value:
        return "contains a NUL character (\\u0000); remove it"
    surrogate = _LONE_SURROGATE.search(value)
    if surrogate:
        return (
            f"contains \\u{ord(surrogate.group()):04x}, half of a surrogate pair, which is not a character; "
            "write the character itself (UTF-8) or both halves of the pair"
        )
    return None


def json_type(value: Any) -> str:
    """The JSON name of a value's type, as the researcher wrote it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of a value for a message: long text is cut, not pasted whole."""
    if isinstance(value, float) and not math.isfinite(value):
        # As JSON spells them; a huge literal like 1e999 also arrives as infinity.
        text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class FieldReader:
    """Reads typed fields out of one line's JSON object, collecting an issue for each bad one."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.issues: list[Issue] = []

    def fail(self, field: str, message: str) -> None:
        self.issues.append(Issue(self.line, field, message))

    def _get(self, obj: dict[str, Any], key: str, path: str, required: bool) -> Any:
        if key not in obj or obj[key] is None:
            if required:
                self.fail(path, "missing: this field is required")
            return None
        return obj[key]

    def text(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        max_chars: int,
        blank_ok: bool = False,
    ) -> str | None:
        value = self._get(obj, key, path, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {json_type(value)} ({show(value)})")
            return None
        problem = text_problem(value)
        if problem:
            self.fail(path, problem)
            return None
        value = value.strip()
        if not value and not blank_ok:
            self.fail(path, "is empty" if required else "is empty: leave the field out instead")
            return None
        if len(value) > max_chars:
            self.fail(path, f"is {len(value)} characters long; the limit is {max_chars}")
            return None
        return value

    def seconds(self, obj: dict[str, Any], key: str, path: str) -> float | None:
        value = self._get(obj, key, path, True)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(path, f"must be a number of seconds, not {json_type(value)} ({show(value)})")
            return None
        try:
            seconds = float(value)
        except OverflowError:
            self.fail(path, f"{show(value, 30)} is too large for a time in seconds")
            return None
        if not math.isfinite(seconds):
            self.fail(path, f"{show(value)} is not a finite number of seconds")
            return None
        if seconds < 0:
            self.fail(path, f"{show(value)} is negative; times are seconds from the start of the video")
            return None
        if seconds > MAX_SECONDS:
            self.fail(path, f"{show(value)} is more than {MAX_SECONDS:.0f} s (24 hours) into the video")
            return None
        return seconds

    def segment(self, obj: dict[str, Any], path_prefix: str) -> tuple[float | None, float | None]:
        start = self.seconds(obj, "start", f"{path_prefix}start")
        end = self.seconds(obj, "end", f"{path_prefix}end")
        if start is not None and end is not None and start >= end:
            self.fail(f"{path_prefix}end", f"{show(obj['end'])} is not after the start ({show(obj['start'])})")
            return start, None
        return start, end

    def sport(self, obj: dict[str, Any], key: str = "sport") -> str | None:
        value = self.text(obj, key, key, max_chars=10 * MAX_SLUG_CHARS)
        if value is None:
            return None
        if len(value) > MAX_SLUG_CHARS or not _SLUG.match(value):
            self.fail(
                key,
                f"{show(value)} is not a sport slug: use lowercase letters, digits and single hyphens "
                f"(at most {MAX_SLUG_CHARS} characters), e.g. 'basketball' or 'ice-hockey'",
            )
            return None
        return value

    def array(self, obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> list[Any] | None:
        value = self._get(obj, key, path, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(path, f"must be an array, not {json_type(value)}")
            return None
        return value

    def obj(self, value: Any, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, not {json_type(value)} ({show(value)})")
            return None
        return value
