"""A folder where writing runs out of room, for disk-full tests.

As root (CI containers, this machine) the folder becomes a small tmpfs filled to the brim, which
gives the real ENOSPC a full disk gives. Without root no file system can be mounted, so the code
under test runs with a file size limit (``RLIMIT_FSIZE``) instead: writes then fail with EFBIG, part
way into the file, as on a full disk (SIGXFSZ is ignored so the write fails rather than killing the
process; ``FAULTS_FULL_DISK=rlimit`` chooses this way as root too). Either way the failing work runs
in a child process, as a worker or a web process would, and the test process itself writes freely
once ``free()`` has made room.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

ROOM_LEFT = 16 * 1024  # enough for folders and lock files, far too little for a clip or an export
LIMIT_BYTES = ROOM_LEFT


class FullDisk:
    def __init__(self, folder: Path, size: str = "8m"):
        self.folder = folder
        self.size = size
        self.mounted = False
        self.filler = folder / ".filler"

    @property
    def how(self) -> str:
        return "a full tmpfs (ENOSPC)" if self.mounted else "a file size limit (EFBIG)"

    def __enter__(self) -> FullDisk:
        self.folder.mkdir(parents=True, exist_ok=True)
        # FAULTS_FULL_DISK=rlimit tries the unprivileged way on a machine where mounting would work.
        if os.geteuid() == 0 and os.environ.get("FAULTS_FULL_DISK") != "rlimit":
            mount = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0755", "tmpfs", str(self.folder)],
                capture_output=True,
                check=False,
            )
            self.mounted = mount.returncode == 0
        if self.mounted:
            self._fill()
        return self

    def _fill(self) -> None:
        block = b"\0" * (1 << 20)
        with open(self.filler, "wb") as handle:
            try:
                while True:
                    handle.write(block)
                    handle.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
            # Give back a little: small writes (a folder, a lock file) still work, a clip doesn't fit.
            handle.truncate(max(0, handle.tell() - ROOM_LEFT))

    def run(self, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` in a child process that finds the disk full."""

        def limit() -> None:
            if not self.mounted:
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, resource.RLIM_INFINITY))

        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=limit,  # only a resource limit and a signal disposition: safe before exec
            check=False,
        )

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def files(self) -> list[Path]:
        """Everything left in the folder apart from the filler."""
        return sorted(p for p in self.folder.rglob("*") if p.is_file() and p != self.filler)

    def __exit__(self, *exc_info) -> None:
        if self.mounted:
            with contextlib.suppress(OSError):
                subprocess.run(["umount", "-l", str(self.folder)], capture_output=True, check=False)
