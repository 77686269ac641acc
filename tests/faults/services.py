"""Private PostgreSQL and Redis servers for fault tests: these are the ones a test may stop and restart.

Never the shared servers of the machine or CI: each test starts its own on a free port under its
own temporary folder, and stops it at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, up: bool = True, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not {'open' if up else 'close'} within {timeout_s} s")


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries of Debian's layout, if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


class PrivateRedis:
    """``redis-server`` on its own port, without persistence: a restart empties it, like a lost broker."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("needs redis-server on PATH for a private broker")
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the server process owns it
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        wait_for_port(self.port, up=False)


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on its own port under a temporary folder.

    initdb refuses to run as root, so as root the cluster belongs to an unprivileged account
    (``postgres`` if it exists, else ``nobody``) and its commands run as that account.
    """

    def __init__(self):
        self.bin = postgres_bin()
        if self.bin is None:
            pytest.skip("needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin) for a private cluster")
        # Its own folder straight under /tmp: that account can't enter pytest's (private) temporary folders.
        self.folder = Path(tempfile.mkdtemp(prefix="coachbench-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.account = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self.account = pwd.getpwnam(name)
                    break

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid}
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, timeout=120, cwd="/", **kwargs
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def init(self) -> PrivatePostgres:
        if self.account is not None:
            os.chown(self.folder, self.account.pw_uid, self.account.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "postgres.log"), "-w", "start")
        wait_for_port(self.port)

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: the server goes away at once, as on a crash or a failover."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        wait_for_port(self.port, up=False)

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
