"""Every management command fed malformed files and option values: a clear ``CommandError``, nothing written.

The file-reading commands each get the same set of bad files; every command gets bad option
values (negative, huge, the wrong type, NUL, very long). A few run as real processes to check the
exit status and that no traceback reaches the terminal, and the 100 MB single-line file is read
by a real process whose peak memory is measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, get_commands

from tests.bad_input.rows import row_counts
from tests.conftest import ROOT, database_url_for_current_test_db

pytestmark = pytest.mark.django_db

FILE_COMMANDS = {
    "import_gallery": ["--no-progress"],
    "import_queries": ["--no-progress"],
    "import_candidates": [],
    "agreement": ["--measure", "alpha"],
    "leaderboard": [],
}


def _binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 64 + b"\x00\xff\xfe" * 1000)
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _latin1(path: Path) -> Path:
    path.write_bytes('{"video": "caf\xe9.mp4"}\nunit,rater,value\ncaf\xe9,r1,1\n'.encode("latin-1"))
    return path


def _no_newline_garbage(path: Path) -> Path:
    path.write_bytes(b"{" * 200_000)
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # nothing ever writes to it: reading it would block forever
    return path


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "missing": lambda path: path,
    "directory": _directory,
    "fifo": _fifo,
    "endless-device": lambda path: Path("/dev/zero"),
    "nul-in-name": lambda path: Path(f"{path}\x00.csv"),
    "binary": _binary,
    "empty": _empty,
    "latin-1": _latin1,
    "nesting": _no_newline_garbage,
}


def run_command(name: str, *args: str) -> str:
    """Run a command that must fail; return its message (and what it wrote on stderr)."""
    before = row_counts()
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(name, *args, stdout=StringIO(), stderr=err)
    message = f"{failure.value}\n{err.getvalue()}"
    assert message.strip()
    assert "Traceback" not in message
    assert row_counts() == before, f"{name} {args} wrote rows"
    return message


@pytest.mark.parametrize("kind", list(BAD_FILES))
@pytest.mark.parametrize("command", list(FILE_COMMANDS))
def test_a_bad_file_is_a_clear_error_and_imports_nothing(tmp_path, command, kind):
    path = BAD_FILES[kind](tmp_path / f"input-{kind}.txt")
    message = run_command(command, str(path), *FILE_COMMANDS[command])
    assert str(path) in message or path.name in message or "contains a NUL character" in message, message


HUGE = str(10**30)
NUL = "a\x00b"
LONG = "m" * 100_000

BAD_OPTIONS: list[tuple[str, list[str], str]] = [
    # (command, arguments, part of the expected message)
    ("coach_messages", ["--language", "es"], "unrecognized arguments"),
    ("generate_candidates", ["--methods", "random", "--k", "-1"], "--k must be between"),
    ("generate_candidates", ["--methods", "random", "--k", "0"], "--k must be between"),
    ("generate_candidates", ["--methods", "random", "--k", HUGE], "--k must be between"),
    ("generate_candidates", ["--methods", "random", "--k", "ten"], "invalid int value"),
    ("generate_candidates", ["--methods", "random", "--k", "1e3"], "invalid int value"),
    ("generate_candidates", ["--methods", ",,,"], "--methods is empty"),
    ("generate_candidates", ["--methods", NUL], "--methods: contains a NUL character"),
    ("generate_candidates", ["--methods", LONG], "--methods: is 100000 characters long"),
    ("generate_candidates", ["--methods", "\ud800"], "half of a surrogate pair"),
    ("evaluate_retrieval", ["--methods", NUL], "--methods: contains a NUL character"),
    ("evaluate_retrieval", ["--methods", "nope,\u202eevil"], "unknown method"),
    ("render_clips", ["--all", "--chunk-size", "-5"], "--chunk-size must be at least 1"),
    ("render_clips", ["--all", "--chunk-size", "0"], "--chunk-size must be at least 1"),
    ("render_clips", ["--all", "--chunk-size", "many"], "invalid int value"),
    ("render_clips", ["--sport", NUL], "--sport: contains a NUL character"),
    ("render_clips", ["--sport", LONG], "--sport: is 100000 characters long"),
    ("render_clips", [], "say which clips to render"),
    ("render_clips", ["--all", "--sport", "golf"], "not both"),
    ("resume_job", ["-1"], "there is no job -1"),
    ("resume_job", [HUGE], "there is no job"),
    ("resume_job", ["1.5"], "invalid int value"),
    ("resume_job", [NUL], "invalid int value"),
    ("cancel_job", ["-1"], "there is no job -1"),
    ("cancel_job", [HUGE], "there is no job"),
    ("cancel_job", ["seven"], "invalid int value"),
    ("build_index", [NUL], "method: contains a NUL character"),
    ("build_index", [LONG], "method: is 100000 characters long"),
    ("build_index", ["nope", "--timeout", "-1"], "--timeout: must be a positive number of seconds"),
    ("build_index", ["nope", "--timeout", "nan"], "--timeout: must be a positive number of seconds"),
    (
        "export_study",
        ["s1", "--out", "/nonexistent-folder/x.zip", "--bootstrap", HUGE],
        "--bootstrap: takes 0 to 100000",
    ),
    ("generate_candidates", ["--methods", "random", "--queries", "q\x00"], "--queries: contains a NUL"),
    ("build_index", ["nope", "--timeout", "soon"], "--timeout: must be a number of seconds"),
    ("export_study", ["../../etc", "--out", "/nonexistent-folder/x.zip"], "no study with the slug"),
    ("export_study", [NUL, "--out", "/nonexistent-folder/x.zip"], "slug: contains a NUL character"),
    (
        "export_study",
        ["s1", "--out", "/nonexistent-folder/x.zip", "--bootstrap", "lots"],
        "--bootstrap: must be a whole number",
    ),
    ("seed_demo", ["--if-empty", "--force"], "contradict each other"),
    ("seed_demo", ["--folder", "/proc/version/demo"], "could not write the demo videos"),
    ("seed_demo", ["--folder", "/tmp/de\x00mo"], "--folder: contains a NUL character"),
    ("import_gallery", ["x.jsonl", "--probe", "maybe"], "invalid choice"),
    ("import_queries", ["x.jsonl", "--probe", ""], "invalid choice"),
    ("import_candidates", [], "the following arguments are required"),
    ("prune_indexes", ["--grace-hours", "-1"], "--grace-hours: must be a number of hours from 0 to 87600"),
    ("prune_indexes", ["--grace-hours", "nan"], "--grace-hours: must be a number of hours from 0 to 87600"),
    ("prune_indexes", ["--grace-hours", "soon"], "--grace-hours: must be a number of hours, not 'soon'"),
]


@pytest.mark.parametrize(
    ("command", "args", "expected"), BAD_OPTIONS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD_OPTIONS)]
)
def test_a_bad_option_value_is_a_clear_error(command, args, expected):
    message = run_command(command, *args)
    assert expected in message, message


def _ratings_csv(tmp_path: Path) -> Path:
    path = tmp_path / "ratings.csv"
    path.write_text("unit,rater,value\n" + "".join(f"u{u},r{r},{(u + r) % 3}\n" for u in range(5) for r in range(3)))
    return path


def _comparisons_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.csv"
    path.write_text("a,b,winner\n" + "".join(f"m1,m2,{w}\n" for w in ["m1", "m2", "tie", "m1"]))
    return path


STATISTICS_OPTIONS = [
    ("agreement", ["--measure", "alpha", "--bootstrap", "-1"], "--bootstrap: takes 0 to 100000 resamples"),
    ("agreement", ["--measure", "alpha", "--bootstrap", HUGE], "--bootstrap: takes 0 to 100000 resamples"),
    ("agreement", ["--measure", "alpha", "--bootstrap", "10", "--seed", "-1"], "--seed: must be a whole number, 0"),
    ("agreement", ["--measure", "alpha", "--scale", "1,\x002"], "--scale: contains a NUL character"),
    ("agreement", ["--measure", "cohen", "--scale", "1"], "at least two categories"),
    ("agreement", ["--measure", "fleiss", "--level", "interval"], "--level applies to --measure alpha only"),
    ("agreement", ["--measure", "kappa"], "invalid choice"),
    ("agreement", ["--measure", "alpha", "--level", "ordinal", "--scale", "5,4,3,2,1"], "--scale has no effect on"),
    ("agreement", ["--measure", "icc", "--scale", "1,2,3"], "--scale has no effect on --measure icc"),
    ("agreement", ["--measure", "kendall_w", "--scale", "1,2,3"], "it applies to cohen, fleiss and ac1"),
    ("leaderboard", ["--bootstrap", "-3"], "--bootstrap: takes 0 to 100000 resamples"),
    ("leaderboard", ["--bootstrap", HUGE], "--bootstrap: takes 0 to 100000 resamples"),
    ("leaderboard", ["--bootstrap", "10", "--seed", "-1"], "--seed: must be a whole number, 0"),
    ("leaderboard", ["--bootstrap", "1e9"], "--bootstrap: must be a whole number"),
]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    STATISTICS_OPTIONS,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(STATISTICS_OPTIONS)],
)
def test_a_bad_statistics_option_is_a_clear_error(tmp_path, command, args, expected):
    path = _ratings_csv(tmp_path) if command == "agreement" else _comparisons_csv(tmp_path)
    message = run_command(command, str(path), *args)
    assert expected in message, message


def test_every_command_is_covered():
    """A command added later must get its bad inputs here too."""
    apps = {"core", "retrieval_backend", "studies", "annotations", "demo"}
    ours = {name for name, app in get_commands().items() if app in apps}
    covered = set(FILE_COMMANDS) | {c for c, _, _ in BAD_OPTIONS} | {c for c, _, _ in STATISTICS_OPTIONS}
    assert ours <= covered, f"no bad-input test for: {sorted(ours - covered)}"


def _run_process(tmp_path: Path, *args: str) -> tuple[int, str, str, float]:
    """``manage.py ARGS`` in its own process: exit status, stdout, stderr and peak memory in MB."""
    env = {**os.environ, "DATABASE_URL": database_url_for_current_test_db()}
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=out, stderr=err)
        killer = threading.Timer(120, process.kill)  # a hung command fails the test instead of hanging it
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, out_path.read_text(), err_path.read_text(errors="replace"), usage.ru_maxrss / 1024


@pytest.fixture(scope="module")
def hundred_megabyte_line(tmp_path_factory) -> Path:
    """One line of 100 MB (and then a short one), written a megabyte at a time."""
    path = tmp_path_factory.mktemp("huge") / "one-line.jsonl"
    chunk = b'{"id": "abc", "start": 1.5},' * (1 << 20 // 28)
    with open(path, "wb") as out:
        out.write(b'{"clips": [')
        for _ in range(100 * (1 << 20) // len(chunk)):
            out.write(chunk)
        out.write(b"]}\nunit,rater,value\n")
    return path


# One command per line reader: manifests (import_gallery, import_queries), candidates, CSV (agreement, leaderboard).
LINE_READERS = [
    ("import_gallery", ["--no-progress"], "1: line: is longer than"),
    ("import_candidates", [], "1: line: is longer than"),
    ("agreement", ["--measure", "alpha"], "a line is longer than"),
]

_MEMORY_SCRIPT = """
import json, resource, sys
from io import StringIO
import django
django.setup()
from django.core.management import CommandError, call_command

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

small, huge, readers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for command, args, _ in readers:  # load every module first: the baseline is a warmed-up process
    try:
        call_command(command, small, *args, stdout=StringIO(), stderr=StringIO())
    except CommandError:
        pass
results = []
for command, args, _ in readers:
    before, err = peak_mb(), StringIO()
    try:
        call_command(command, huge, *args, stdout=StringIO(), stderr=err)
        message = "no error"
    except CommandError as exc:
        message = str(exc) + err.getvalue()
    results.append([command, peak_mb() - before, message[:2000]])
print(json.dumps(results))
"""


@pytest.mark.django_db(transaction=True)  # the child process opens transactions; SQLite would be locked
def test_a_100_megabyte_line_is_refused_without_reading_it_into_memory(tmp_path, hundred_megabyte_line):
    """Each reader refuses the line with a message; the process's peak memory grows by far less than 100 MB."""
    import json

    garbage = _binary(tmp_path / "small.bin")
    status, out, err, _ = _run_script(
        tmp_path, _MEMORY_SCRIPT, str(garbage), str(hundred_megabyte_line), json.dumps(LINE_READERS)
    )
    assert status == 0, err
    results = json.loads(out.strip().splitlines()[-1])
    for (command, growth, message), (_, _, expected) in zip(results, LINE_READERS, strict=True):
        assert expected in message, f"{command}: {message}"
        assert growth < 40, f"{command} grew by {growth:.0f} MB reading the 100 MB line"


def _run_script(tmp_path: Path, code: str, *args: str) -> tuple[int, str, str, float]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_current_test_db(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout, done.stderr, 0.0


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["generate_candidates", "--methods", "random", "--k", "ten"], 2, "argument --k: invalid int value: 'ten'"),
        (["resume_job", str(10**30)], 1, "CommandError: there is no job"),
        (["build_index", "a\udcffb"], 2, "argument method: contains \\udcff, half of a surrogate pair"),
    ],
)
def test_a_real_process_exits_non_zero_with_the_message_and_no_traceback(tmp_path, args, code, expected):
    status, out, err, _ = _run_process(tmp_path, *args)
    assert status == code
    assert expected in err
    assert "Traceback" not in err + out


def test_an_export_to_a_place_it_cannot_write_is_a_clear_error(tmp_path):
    from tests.annotations.judged_study import open_study

    open_study(n_queries=1)
    for out, expected in [
        ("/proc/version/bundle.zip", "could not write the export to /proc/version/bundle.zip"),
        ("/proc/bundle.zip", "could not write the export to /proc/bundle.zip"),
        (str(tmp_path / "bundle-\udcff.zip"), "--out: has bytes that are not UTF-8 text"),
        (str(tmp_path / "bundle\x00.zip"), "--out: contains a NUL character"),
    ]:
        message = run_command("export_study", "serve", "--out", out, "--bootstrap", "0", "--no-progress")
        assert expected in message, message
    assert not list(tmp_path.iterdir())
