"""The Range / If-Range / If-None-Match parsing that lets browsers seek in clips (RFC 9110)."""

from __future__ import annotations

import pytest
from django.utils.http import http_date
from hypothesis import given
from hypothesis import strategies as st

from retrieval_backend.http_ranges import (
    ByteRange,
    RangeNotSatisfiable,
    if_none_match_hits,
    if_range_allows_partial,
    parse_etags,
    parse_range,
    strong_etag,
)

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=0-0", ByteRange(0, 0)),
        ("bytes=0-1", ByteRange(0, 1)),  # Safari's first probe
        ("bytes=500-", ByteRange(500, 999)),
        ("bytes=0-", ByteRange(0, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-1", ByteRange(999, 999)),
        ("bytes=999-999", ByteRange(999, 999)),
    ],
)
def test_it_parses_the_three_single_range_forms(header: str, expected: ByteRange) -> None:
    assert parse_range(header, SIZE) == expected


def test_it_clamps_a_last_position_past_the_end() -> None:
    assert parse_range("bytes=900-5000", SIZE) == ByteRange(900, 999)
    assert parse_range("bytes=0-99999999999999999999999999", SIZE) == ByteRange(0, 999)


def test_it_gives_the_whole_file_for_a_suffix_longer_than_the_file() -> None:
    assert parse_range("bytes=-5000", SIZE) == ByteRange(0, 999)


@pytest.mark.parametrize(
    "header",
    ["bytes = 0-99", "bytes= 0-99 ", "BYTES=0-99", "Bytes=0-99", "bytes=0-99,", "bytes=,0-99", "bytes=0-99 , "],
)
def test_it_tolerates_whitespace_case_and_empty_list_elements(header: str) -> None:
    assert parse_range(header, SIZE) == ByteRange(0, 99)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=abc",
        "bytes=1-a",
        "bytes=--5",
        "bytes=5--",
        "bytes=0-99;",
        "bytes=0 - 99",
        "bytes=+1-5",
        "bytes=1.5-3",
        "bytes=100-50",  # last before first: invalid, so the header is ignored, not a 416
        "bytes=0-10,100-50",  # one invalid spec spoils the header
        "items=0-5",
        "0-99",
        "bytes=\u0661-\u0662",  # Arabic-Indic digits are not DIGIT
    ],
)
def test_it_ignores_a_malformed_header_so_the_whole_file_is_sent(header: str) -> None:
    assert parse_range(header, SIZE) is None


def test_it_sends_the_whole_file_without_a_header() -> None:
    assert parse_range(None, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=5000-5001", "bytes=-0", "bytes=1000-,-0"])
def test_it_refuses_a_range_that_starts_past_the_end(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, SIZE)
    assert caught.value.size == SIZE


def test_an_unsatisfiable_range_among_satisfiable_ones_is_dropped() -> None:
    assert parse_range("bytes=5000-6000,0-9", SIZE) == ByteRange(0, 9)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99,100-199", ByteRange(0, 199)),  # adjacent
        ("bytes=50-150,0-99", ByteRange(0, 150)),  # overlapping, out of order
        ("bytes=0-99,0-99", ByteRange(0, 99)),
        ("bytes=-100,900-", ByteRange(900, 999)),
    ],
)
def test_it_merges_ranges_that_overlap_or_touch(header: str, expected: ByteRange) -> None:
    assert parse_range(header, SIZE) == expected


def test_it_sends_the_whole_file_for_disjoint_ranges() -> None:
    assert parse_range("bytes=0-9,500-509", SIZE) is None


def test_an_empty_file_has_no_satisfiable_start_position() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)
    assert parse_range("bytes=-10", 0) is None


def test_content_range_names_the_inclusive_bounds_and_the_size() -> None:
    assert ByteRange(900, 999).content_range(SIZE) == "bytes 900-999/1000"
    assert ByteRange(900, 999).length == 100


@given(size=st.integers(1, 10_000), first=st.integers(0, 20_000), last=st.integers(0, 20_000))
def test_a_satisfiable_range_always_lies_inside_the_file(size: int, first: int, last: int) -> None:
    header = f"bytes={min(first, last)}-{max(first, last)}"
    try:
        got = parse_range(header, size)
    except RangeNotSatisfiable:
        assert min(first, last) >= size
        return
    assert got is not None
    assert 0 <= got.start <= got.end < size
    assert got.start == min(first, last)


@given(size=st.integers(1, 10_000), suffix=st.integers(1, 20_000))
def test_a_suffix_range_ends_at_the_last_byte(size: int, suffix: int) -> None:
    got = parse_range(f"bytes=-{suffix}", size)
    assert got is not None
    assert got.end == size - 1
    assert got.length == min(size, suffix)


ETAG = '"abc123"'


def test_if_none_match_compares_weakly_and_accepts_lists_and_star() -> None:
    assert if_none_match_hits(ETAG, ETAG)
    assert if_none_match_hits('W/"abc123"', ETAG)
    assert if_none_match_hits('"zzz", "abc123"', ETAG)
    assert if_none_match_hits("*", ETAG)
    assert not if_none_match_hits('"zzz"', ETAG)
    assert not if_none_match_hits(None, ETAG)
    assert not if_none_match_hits("abc123", ETAG)  # unquoted: malformed, so no match


def test_etags_may_contain_commas() -> None:
    assert parse_etags('"a,b", W/"c"') == [(False, '"a,b"'), (True, '"c"')]
    assert parse_etags('"a" "b"') is None


def test_if_range_needs_a_strong_etag_match() -> None:
    assert if_range_allows_partial(None, ETAG, 0)
    assert if_range_allows_partial(ETAG, ETAG, 0)
    assert not if_range_allows_partial('"old"', ETAG, 0)
    assert not if_range_allows_partial('W/"abc123"', ETAG, 0)


def test_if_range_with_a_date_needs_the_exact_last_modified() -> None:
    modified = 1_700_000_000
    assert if_range_allows_partial(http_date(modified), ETAG, modified)
    assert not if_range_allows_partial(http_date(modified - 60), ETAG, modified)
    assert not if_range_allows_partial("not a date", ETAG, modified)


def test_the_etag_changes_with_the_file_version_and_hides_the_clip_key() -> None:
    tag = strong_etag("ab12_1000_2000.mp4", 5000, 1)
    assert tag.startswith('"')
    assert tag.endswith('"')
    assert "ab12" not in tag
    assert tag != strong_etag("ab12_1000_2000.mp4", 5000, 2)
    assert tag != strong_etag("ab12_1000_2000.mp4", 5001, 1)
    assert tag == strong_etag("ab12_1000_2000.mp4", 5000, 1)
