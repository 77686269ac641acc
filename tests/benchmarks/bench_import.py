"""Importing a 100k-clip gallery manifest without probing: seconds and peak memory (goal: < 60 s, < 300 MB).

The manifest has 20k videos of 5 clips each. Every video line names its own
file (hard links to a few real videos, so ``source_uri`` stays unique and the
existence check is real) and the import runs ``--probe none`` into a fresh
SQLite database in a temporary VAR_DIR, in a child process so that its peak
resident memory (ru_maxrss) is its own. A second child re-imports the same
manifest (everything unchanged); a third repeats the import under tracemalloc
for the peak of the import's own Python allocations. A child that only starts
Django gives the baseline that every command pays before reading a line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from retrieval_backend.video.synthetic import write_synthetic_video

ROOT = Path(__file__).resolve().parents[2]
VIDEOS = 20_000
CLIPS_PER_VIDEO = 5
SPORTS = ["basketball", "tennis", "soccer", "golf", "swimming", "volleyball", "ice-hockey", "rowing"]

_STARTUP_ONLY = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.core.management import load_command_class
load_command_class("retrieval_backend", "import_gallery")
"""

_TRACED_IMPORT = """
import os, sys, tracemalloc, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.core.management import call_command
tracemalloc.start()
call_command("import_gallery", sys.argv[1], "--probe", "none", "--no-progress")
print("TRACEMALLOC_PEAK", tracemalloc.get_traced_memory()[1])
"""


def write_manifest(folder: Path) -> Path:
    """20k video lines pointing at hard links of three small real videos, 5 narrated clips each."""
    sources = [write_synthetic_video(folder / f"source-{i}.mp4", seconds=2, width=96, height=64) for i in range(3)]
    videos = folder / "videos"
    videos.mkdir()
    manifest = folder / "gallery.jsonl"
    with open(manifest, "w", encoding="utf-8") as out:
        for v in range(VIDEOS):
            name = f"v{v:05d}.mp4"
            os.link(sources[v % len(sources)], videos / name)
            clips = [
                {
                    "id": f"v{v:05d}-{c}",
                    "start": round(c * 0.3, 2),
                    "end": round(c * 0.3 + 0.25, 2),
                    "skill": f"skill {c}",
                    "narration": f"Clip {c} of video {v}: keep your elbow under the ball and follow through.",
                }
                for c in range(CLIPS_PER_VIDEO)
            ]
            line = {
                "video": f"videos/{name}",
                "sport": SPORTS[v % len(SPORTS)],
                "title": f"Demonstration {v}",
                "external_id": f"bench:{v}",
                "clips": clips,
            }
            out.write(json.dumps(line) + "\n")
    return manifest


def _child_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({"VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"})
    return env


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run a child; return its wall seconds, its CPU seconds, its own peak RSS in bytes, and its output."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({process.returncode}):\n{output}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, output  # ru_maxrss: KiB on Linux


def _fresh_database(var_dir: Path, env: dict[str, str]) -> None:
    for leftover in var_dir.glob("coachbench.sqlite3*"):
        leftover.unlink()
    _run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cb-bench-import-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        manifest = write_manifest(folder)
        print(
            f"manifest: {VIDEOS} videos x {CLIPS_PER_VIDEO} clips = {VIDEOS * CLIPS_PER_VIDEO} clips, "
            f"{manifest.stat().st_size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s"
        )
        var_dir = folder / "var"
        var_dir.mkdir()
        env = _child_env(var_dir)
        command = [sys.executable, "manage.py", "import_gallery", str(manifest), "--probe", "none", "--no-progress"]

        seconds, cpu, rss, _ = _run([sys.executable, "-c", _STARTUP_ONLY], env)
        print(
            f"baseline, Django start-up and the command loaded: {seconds:.1f} s wall ({cpu:.1f} s CPU), "
            f"peak RSS {rss / 2**20:.0f} MiB"
        )

        _fresh_database(var_dir, env)
        seconds, cpu, rss, output = _run(command, env)
        print(output.strip().splitlines()[0])
        print(
            f"import, fresh SQLite database: {seconds:.1f} s wall ({cpu:.1f} s CPU), "
            f"peak RSS {rss / 2**20:.0f} MiB (goal < 60 s, < 300 MB)"
        )

        seconds, cpu, rss, output = _run(command, env)
        print(output.strip().splitlines()[0])
        print(
            f"re-import, everything unchanged: {seconds:.1f} s wall ({cpu:.1f} s CPU), peak RSS {rss / 2**20:.0f} MiB"
        )

        _fresh_database(var_dir, env)
        _, _, _, output = _run([sys.executable, "-c", _TRACED_IMPORT, str(manifest)], env)
        peak = next(int(line.split()[1]) for line in output.splitlines() if line.startswith("TRACEMALLOC_PEAK"))
        print(f"import under tracemalloc: peak Python allocations {peak / 2**20:.0f} MiB")
        print(
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall times grow with other work "
            "on the machine; CPU seconds are the steadier figure)"
        )
