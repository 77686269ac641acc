"""Argument types for management commands: values a shell can pass but no database column can hold.

A NUL character or half of a surrogate pair (from bytes that are not UTF-8 in the
command line) would reach a query as is and fail there with a database error; as an
argparse ``type`` they are refused up front with a message naming the argument.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from retrieval_backend.importing.fields import text_problem

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Names, slugs and id lists typed on a command line; a longer value is a pasted file, not a name.
MAX_ARGUMENT_CHARS = 10_000
# Bootstrap resamples: 1000 is the default everywhere, and beyond this the statistics run for hours.
MAX_RESAMPLES = 100_000


def text(value: str) -> str:
    """A name, slug or comma-separated list: any text but NUL and lone surrogates, at most 10,000 characters."""
    problem = text_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    if len(value) > MAX_ARGUMENT_CHARS:
        raise argparse.ArgumentTypeError(f"is {len(value)} characters long; at most {MAX_ARGUMENT_CHARS}")
    return value


def resamples(value: str) -> int:
    """A number of bootstrap resamples, 0 to ``MAX_RESAMPLES``."""
    number = _integer(value)
    if not 0 <= number <= MAX_RESAMPLES:
        raise argparse.ArgumentTypeError(f"takes 0 to {MAX_RESAMPLES} resamples, not {value}")
    return number


def seed(value: str) -> int:
    """A random seed: a whole number, 0 or more."""
    number = _integer(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {value}")
    return number


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {value!r}") from None


def seconds(value: str) -> float:
    """A positive, finite number of seconds."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {value!r}") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {value}")
    return number


def hours(value: str) -> float:
    """A finite number of hours, 0 or more (at most ten years)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of hours, not {value!r}") from None
    if not 0 <= number <= 87_600:
        raise argparse.ArgumentTypeError(f"must be a number of hours from 0 to 87600, not {value}")
    return number


def path(value: str) -> Path:
    """A file or folder path; a NUL would make every file operation fail with an unhelpful error."""
    if "\x00" in value:
        raise argparse.ArgumentTypeError("contains a NUL character (\\u0000), which no path can hold")
    if _LONE_SURROGATE.search(value):
        # How Python shows bytes of a file name that are not UTF-8; reports and manifests can't name it.
        raise argparse.ArgumentTypeError("has bytes that are not UTF-8 text; rename the file or folder")
    return Path(value)
