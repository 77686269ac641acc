"""Streaming readers for the CSV files the statistics commands take.

Files are read row by row with the csv module (a million ratings is ~20 MB of text; no pandas
frame of Python strings is built). Names are turned into integer codes as they stream in, and every
problem is reported with its line number so that the file can be fixed.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np


class RatingsFileError(ValueError):
    """A CSV file the statistics cannot read; the message says what to fix and where."""


# A ratings row is a few short cells; a longer line is not a ratings CSV (and is never read whole).
MAX_LINE_CHARS = 1 << 20


@dataclass(frozen=True)
class LongRatings:
    """Ratings in long format, names coded: ``unit_names[units[i]]`` etc."""

    units: np.ndarray
    raters: np.ndarray
    value_codes: np.ndarray
    unit_names: list[str]
    rater_names: list[str]
    value_names: list[str]  # distinct value strings as written
    value_lines: list[int]  # the line where each distinct value first appears
    lines: np.ndarray  # line number of each rating
    n_missing: int  # rows with an empty value


@dataclass(frozen=True)
class Comparisons:
    """Pairwise outcomes: ``a[i]`` against ``b[i]``, won by ``winner[i]``, optionally within ``query[i]``."""

    a: list[str]
    b: list[str]
    winner: list[str]
    queries: list[str] | None


def _rows(
    path: Path, required: Sequence[str], optional: Sequence[str] = (), present: list[str] | None = None
) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(line number, cells of the required then optional columns) for each data row; absent optional columns read "".

    The optional columns the header has are appended to ``present`` once the header is read. Cells are
    not stripped here: callers strip only what they use, which matters at a million rows.
    """
    if path.exists() and not path.is_file() and not path.is_dir():
        # A pipe would block until something writes to it, a device like /dev/zero never end.
        raise RatingsFileError(f"{path} is not a regular file: give a CSV file")
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise RatingsFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RatingsFileError(f"{path} is a folder: give a CSV file") from None
    except OSError as error:
        raise RatingsFileError(f"{path}: cannot open ({error.strerror})") from None
    with handle:
        reader = csv.reader(_bounded_lines(handle, path))
        try:
            header = next(reader, None)
            if header is None:
                raise RatingsFileError(f"{path} is empty: it needs a header line {','.join(required)}")
            columns = [name.strip().lower() for name in header]
            missing = [name for name in required if name not in columns]
            if missing:
                also = f" (optionally {','.join(optional)})" if optional else ""
                raise RatingsFileError(
                    f"{path}: the header lacks column(s) {', '.join(missing)}; expected {','.join(required)}{also}, "
                    f"found {','.join(columns) or 'nothing'}"
                )
            if present is not None:
                present.extend(name for name in optional if name in columns)
            # An absent optional column reads from one extra empty cell appended to every row.
            width = len(columns)
            indices = [columns.index(name) if name in columns else width for name in (*required, *optional)]
            pick = itemgetter(*indices)
            padding = [""]
            for row in reader:
                if len(row) < width:
                    if not row:
                        continue  # a blank line
                    row = row + [""] * (width - len(row))
                cells = pick(row + padding) if width in indices else pick(row)
                yield reader.line_num, cells if isinstance(cells, tuple) else (cells,)
        except csv.Error as error:
            raise RatingsFileError(f"{path}, line {reader.line_num}: not valid CSV ({error})") from None
        except UnicodeDecodeError:
            raise RatingsFileError(f"{path} is not UTF-8 text: save it as UTF-8 CSV") from None


def _bounded_lines(handle, path: Path) -> Iterator[str]:
    """The file's lines, refusing one longer than ``MAX_LINE_CHARS`` after reading only that much of it."""
    while line := handle.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
            raise RatingsFileError(
                f"{path}: a line is longer than {MAX_LINE_CHARS} characters; is this a CSV file with one rating "
                "or comparison a line?"
            )
        yield line


def read_long_ratings(path: Path) -> LongRatings:
    """Read ``unit,rater,value`` rows; an empty value is a missing rating and is skipped."""
    units, raters, values, lines = array("q"), array("q"), array("q"), array("q")
    unit_index: dict[str, int] = {}
    rater_index: dict[str, int] = {}
    value_index: dict[str, int] = {}
    value_lines: list[int] = []
    missing = 0
    for line, (unit, rater, value) in _rows(path, ("unit", "rater", "value")):
        unit, rater, value = unit.strip(), rater.strip(), value.strip()
        if not unit or not rater:
            if not (unit or rater or value):
                continue  # a row of empty cells
            raise RatingsFileError(f"{path}, line {line}: every row needs a unit and a rater")
        if not value:
            missing += 1
            continue
        units.append(unit_index.setdefault(unit, len(unit_index)))
        raters.append(rater_index.setdefault(rater, len(rater_index)))
        code = value_index.setdefault(value, len(value_index))
        if code == len(value_lines):
            value_lines.append(line)
        values.append(code)
        lines.append(line)
    if not units:
        raise RatingsFileError(f"{path} has no ratings (every value is empty or there are no rows)")
    ratings = LongRatings(
        units=np.frombuffer(units, dtype=np.int64).copy(),
        raters=np.frombuffer(raters, dtype=np.int64).copy(),
        value_codes=np.frombuffer(values, dtype=np.int64).copy(),
        unit_names=list(unit_index),
        rater_names=list(rater_index),
        value_names=list(value_index),
        value_lines=value_lines,
        lines=np.frombuffer(lines, dtype=np.int64).copy(),
        n_missing=missing,
    )
    _refuse_duplicates(path, ratings)
    return ratings


def _refuse_duplicates(path: Path, ratings: LongRatings) -> None:
    keys = ratings.units * len(ratings.rater_names) + ratings.raters
    order = np.argsort(keys, kind="stable")
    repeated = np.flatnonzero(keys[order][1:] == keys[order][:-1])
    if repeated.size:
        first, second = order[repeated[0]], order[repeated[0] + 1]
        rater = ratings.rater_names[ratings.raters[first]]
        unit = ratings.unit_names[ratings.units[first]]
        raise RatingsFileError(
            f"{path}, lines {ratings.lines[first]} and {ratings.lines[second]}: rater {rater} rated unit {unit} "
            "twice; keep one rating per rater and unit"
        )


def parse_number(text: str) -> float | None:
    """The number written in ``text``, or None when it is not a finite number."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if np.isfinite(number) else None


def numeric_values(path: Path, ratings: LongRatings, why: str) -> np.ndarray:
    """The ratings as numbers, or an error naming the first value that is not one."""
    numbers = np.empty(len(ratings.value_names))
    for code, text in enumerate(ratings.value_names):
        number = parse_number(text)
        if number is None:
            raise RatingsFileError(
                f"{path}, line {ratings.value_lines[code]}: value {text!r} is not a number, and {why} needs numbers"
            )
        numbers[code] = number
    return numbers[ratings.value_codes]


def read_comparisons(path: Path) -> Comparisons:
    """Read ``a,b,winner`` rows (and ``query`` when present, to resample by query)."""
    a: list[str] = []
    b: list[str] = []
    winner: list[str] = []
    queries: list[str] = []
    present: list[str] = []
    for line, cells in _rows(path, ("a", "b", "winner"), ("query",), present):
        first, second, won, query = (cell.strip() for cell in cells)
        if not (first or second or won or query):
            continue  # a row of empty cells
        has_query = "query" in present
        if not first or not second or not won:
            raise RatingsFileError(f"{path}, line {line}: every row needs a, b and winner")
        if first == second:
            raise RatingsFileError(f"{path}, line {line}: {first} is compared with itself")
        if won not in (first, second, "tie", "neither"):
            raise RatingsFileError(
                f"{path}, line {line}: winner {won!r} must be {first!r}, {second!r}, 'tie' or 'neither'"
            )
        if has_query and not query:
            raise RatingsFileError(f"{path}, line {line}: the query column is empty (fill it or drop the column)")
        a.append(first)
        b.append(second)
        winner.append(won)
        if has_query:
            queries.append(query)
    if not a:
        raise RatingsFileError(f"{path} has no comparisons")
    return Comparisons(a=a, b=b, winner=winner, queries=queries if "query" in present else None)
