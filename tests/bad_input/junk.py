"""Hypothesis strategies for what a broken export, a careless hand or an attacker puts into a JSONL line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Characters that break naive text handling: NUL, both halves of a surrogate pair on their own,
# right-to-left and invisible marks, a byte order mark, line separators JSON allows inside strings,
# combining marks and characters outside the Basic Multilingual Plane.
AWKWARD_CHARS = [
    "\x00",
    "\ud800",
    "\udfff",
    "\ud83d",
    "\u202e",
    "\u200f",
    "\u200b",
    "\ufeff",
    "\u2028",
    "\u2029",
    "\x1b",
    "\x7f",
    "\u0301",
    "\U0001f3c0",
    "\r",
    "\t",
]

awkward_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(AWKWARD_CHARS)),
    max_size=40,
)
long_text = st.sampled_from([300, 600, 1100, 20_000]).map(lambda n: "x" * n)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1, -0.0, 0, 1e308, -1e308, 86_400.5, 10**400, 2**63, -(2**63)]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, awkward_text, long_text)
json_junk = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(awkward_text, inner, max_size=3), max_leaves=6
)

# Whole lines that are not a JSON object: the line is rejected as a whole.
RAW_LINES = [
    '{"video": ',
    "[1, 2, 3]",
    '"just a string"',
    "42",
    "null",
    "NaN",
    "{'video': 'single quotes'}",
    '{"a": 1} trailing',
    "[" * 5000 + "]" * 5000,
    '{"start": ' + "9" * 5000 + "}",
    "\x00\x01\x02",
]
raw_junk_line = st.one_of(
    st.sampled_from(RAW_LINES).map(str.encode),
    # Bytes that are not UTF-8 (and no newline, which would start another line).
    st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b.strip() != b"").map(lambda b: b"\xff" + b),
    # Valid JSON written as CESU-8: half surrogate pairs as raw bytes, not UTF-8.
    st.just('{"video": "\ud800.mp4"}'.encode("utf-8", "surrogatepass")),
)


def dump(obj: Any, *, ascii_only: bool) -> bytes:
    """One JSON line; non-ASCII text either escaped or as UTF-8 (lone surrogates always escaped)."""
    text = json.dumps(obj, ensure_ascii=ascii_only)
    return text.encode("utf-8", "backslashreplace") + b"\n"


def certainly_wrong_values(kind: str) -> st.SearchStrategy:
    """Values a field of this kind can never accept: a clear error is owed for each."""
    if kind == "text":  # a required non-empty string of bounded length
        return st.one_of(
            st.none(),
            st.booleans(),
            numbers,
            st.just(""),
            st.just("   "),
            st.just([]),
            st.just({}),
            st.just("x" * 20_000),
            awkward_text.map(lambda t: t + "\x00"),
            awkward_text.map(lambda t: "\ud800" + t),
        )
    if kind == "seconds":
        return st.one_of(
            st.none(),
            st.booleans(),
            st.just("12.5"),
            st.just([1]),
            st.floats(max_value=-1e-9, allow_infinity=True),
            st.sampled_from([float("nan"), float("inf"), 1e308, 10**400, 86_400.5, 10**30]),
        )
    raise ValueError(kind)
