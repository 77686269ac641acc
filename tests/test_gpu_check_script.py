"""The GPU check script must still run when a GPU machine is lent: its CPU smoke mode exercises the same code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "benchmarks" / "gpu_check.py"


def test_the_gpu_check_runs_end_to_end_in_its_cpu_smoke_mode():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke-cpu"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in (
        "R3D-shaped encoder",
        "search: 5,000 x 64 gallery",
        "TorchScript R3D-shaped encoder:",
        "decode + embed, baseline",
        "GPU_WORKER_CONCURRENCY=2  VIDEO_DECODE_THREADS=1:",
    ):
        assert line in out, f"{line!r} missing from:\n{out}"
    # Same weights and frames on the same device: the backend's vectors match the reference to rounding.
    deviations = [float(x) for x in re.findall(r"1 - cosine to CPU float32: max ([0-9.e+-]+)", out)]
    assert len(deviations) == 2
    assert max(deviations) < 1e-5
