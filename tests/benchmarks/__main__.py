"""Run the benchmarks: ``python -m tests.benchmarks [NAME ...]`` (``make bench``).

Each ``bench_*.py`` module here has a ``main()`` that prints its figures. Benchmarks
measure and print; they never assert times. Give names (``video``, ``search``) to
run only those modules.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    wanted = [f"bench_{n.removeprefix('bench_')}" for n in argv]
    unknown = [n for n in wanted if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in wanted or names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"tests.benchmarks.{name}").main()
        print(f"--- {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
