"""``manage.py leaderboard``: pairwise outcomes in, Bradley-Terry strengths with intervals out."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command


def _comparisons(path: Path, n: int = 600, with_query: bool = False) -> Path:
    rng = np.random.default_rng(0)
    names = ["bm25", "clip", "ours"]
    strengths = np.array([0.0, 0.3, 0.9])
    lines = ["a,b,winner" + (",query" if with_query else "")]
    for index in range(n):
        first, second = rng.choice(3, size=2, replace=False)
        p_first = 1 / (1 + np.exp(strengths[second] - strengths[first]))
        draw = rng.random()
        winner = "tie" if draw < 0.1 else names[first] if draw < 0.1 + 0.9 * p_first else names[second]
        lines.append(f"{names[first]},{names[second]},{winner}" + (f",q{index % 50}" if with_query else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(*args: object) -> str:
    out = StringIO()
    call_command("leaderboard", *map(str, args), stdout=out)
    return out.getvalue()


def test_it_ranks_methods_with_centred_log_strengths_and_intervals(tmp_path):
    report = json.loads(_run(_comparisons(tmp_path / "pairs.csv"), "--json", "--bootstrap", "200"))
    methods = report["methods"]
    assert [row["method"] for row in methods] == ["ours", "clip", "bm25"]
    assert sum(row["log_strength"] for row in methods) == pytest.approx(0.0, abs=1e-9)
    for row in methods:
        low, high = row["ci95"]
        assert low < row["log_strength"] < high
        assert row["wins"] + row["losses"] + row["ties"] > 0
    assert report["n_comparisons"] == 600
    assert "half" in report["ties"]
    assert report["resampled"] == "comparisons"
    assert len(report["pairs"]) == 3


def test_a_query_column_makes_the_bootstrap_resample_queries(tmp_path):
    report = json.loads(_run(_comparisons(tmp_path / "pairs.csv", with_query=True), "--json", "--bootstrap", "100"))
    assert report["resampled"] == "queries"
    assert report["n_resamples"] == 100


def test_text_output_states_how_ties_were_counted(tmp_path):
    text = _run(_comparisons(tmp_path / "pairs.csv"), "--bootstrap", "50")
    assert text.splitlines()[1].startswith("ours")
    assert "a tie counts as half a win for each method" in text


def test_a_method_that_never_won_gets_the_penalised_fit_and_the_output_says_why(tmp_path):
    path = tmp_path / "early.csv"
    path.write_text("a,b,winner\nx,y,x\nx,y,x\n", encoding="utf-8")
    out = StringIO()
    call_command("leaderboard", str(path), stdout=out)
    assert "Bradley-Terry by penalised maximum likelihood: 0.5 pseudo-win each way" in out.getvalue()
    assert "because y never beat nor tied x" in out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\nx,y\n", "lacks column\\(s\\) winner"),
        ("a,b,winner\nx,y,z\n", "line 2: winner 'z' must be 'x', 'y', 'tie' or 'neither'"),
        ("a,b,winner\nx,x,x\n", "line 2: x is compared with itself"),
        ("a,b,winner\nx,y,x\nz,w,z\n", "were never compared with"),
    ],
)
def test_bad_files_get_a_command_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        _run(path)
