"""``manage.py agreement``: long-format CSV in, the named coefficient out, clear errors for bad files."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.annotations.reference_data import KRIPPENDORFF_2011, SHROUT_FLEISS_1979


def _write(path: Path, rows: list[tuple[object, object, object]], header: str = "unit,rater,value") -> Path:
    path.write_text(header + "\n" + "".join(f"{u},{r},{v}\n" for u, r, v in rows), encoding="utf-8")
    return path


@pytest.fixture
def krippendorff_csv(tmp_path: Path) -> Path:
    """Krippendorff's 4 x 12 data, missing cells written as empty values (as an export would)."""
    rows = []
    for rater, name in enumerate("ABCD"):
        for unit in range(12):
            value = KRIPPENDORFF_2011[rater, unit]
            rows.append((f"u{unit + 1}", name, "" if np.isnan(value) else int(value)))
    return _write(tmp_path / "ratings.csv", rows)


@pytest.fixture
def shrout_fleiss_csv(tmp_path: Path) -> Path:
    rows = [(f"t{t}", f"judge{j}", SHROUT_FLEISS_1979[t, j]) for t in range(6) for j in range(4)]
    return _write(tmp_path / "crossed.csv", rows)


def _json(*args: object) -> dict:
    out = StringIO()
    call_command("agreement", *map(str, args), "--json", stdout=out)
    return json.loads(out.getvalue())


def _text(*args: object) -> str:
    out = StringIO()
    call_command("agreement", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_alpha_prints_the_published_value_with_its_counts(krippendorff_csv, level, published):
    report = _json(krippendorff_csv, "--measure", "alpha", "--level", level)
    assert report["value"] == pytest.approx(published, abs=0.001)
    assert {key: report[key] for key in ("measure", "level", "n_units", "n_raters", "n_ratings")} == {
        "measure": "alpha",
        "level": level,
        "n_units": 11,
        "n_raters": 4,
        "n_ratings": 40,
    }
    assert "ci95" not in report
    assert report["n_missing"] == 7


def test_bootstrap_adds_a_95_percent_interval(krippendorff_csv):
    report = _json(krippendorff_csv, "--measure", "alpha", "--level", "interval", "--bootstrap", "300")
    low, high = report["ci95"]
    assert low < report["value"] < high
    assert report["n_resamples"] == 300


def test_labels_are_values_at_the_nominal_level(tmp_path):
    rows = [(1, "ana", "left"), (1, "ben", "left"), (2, "ana", "right"), (2, "ben", "tie"), (3, "ana", "tie")]
    rows += [(3, "ben", "tie"), (4, "ana", "right"), (4, "ben", "right")]
    report = _json(_write(tmp_path / "labels.csv", rows), "--measure", "alpha")
    assert report["level"] == "nominal"
    assert -1 <= report["value"] <= 1


def test_fleiss_names_the_generalisation_when_ratings_are_missing(krippendorff_csv):
    report = _json(krippendorff_csv, "--measure", "fleiss")
    assert report["name"] == "Fleiss' kappa generalised to missing ratings (Gwet 2014)"
    assert report["value"] == pytest.approx(0.76117, abs=0.001)


def test_fleiss_on_complete_data_is_fleiss_kappa(tmp_path):
    rows = [(u, r, (u + (r == "c")) % 3) for u in range(10) for r in "abc"]
    report = _json(_write(tmp_path / "complete.csv", rows), "--measure", "fleiss")
    assert report["name"] == "Fleiss' kappa"
    assert report["weights"] == "none"


def test_ac1_uses_the_declared_scale(krippendorff_csv):
    report = _json(krippendorff_csv, "--measure", "ac1")
    assert report["value"] == pytest.approx(0.77544, abs=0.001)
    wider = _json(krippendorff_csv, "--measure", "ac1", "--scale", "1,2,3,4,5,6,7")
    assert wider["categories"] == [1, 2, 3, 4, 5, 6, 7]
    assert wider["value"] != pytest.approx(report["value"])


def test_cohen_weighted_kappa_with_the_declared_scale(tmp_path):
    rows = [(u, "ana", v) for u, v in enumerate([1, 2, 3, 4, 5, 2, 3])]
    rows += [(u, "ben", v) for u, v in enumerate([1, 3, 3, 5, 5, 2, 2])]
    path = _write(tmp_path / "two.csv", rows)
    report = _json(path, "--measure", "cohen", "--weights", "quadratic", "--scale", "1,2,3,4,5")
    assert report["weights"] == "quadratic"
    assert report["n_raters"] == 2
    assert report["value"] > _json(path, "--measure", "cohen")["value"]


def test_weighted_measures_need_the_scale(tmp_path):
    path = _write(tmp_path / "two.csv", [(1, "a", 1), (1, "b", 2), (2, "a", 2), (2, "b", 2)])
    with pytest.raises(CommandError, match="--weights linear needs --scale"):
        _json(path, "--measure", "cohen", "--weights", "linear")


def test_icc_prints_all_six_forms_by_name(shrout_fleiss_csv):
    report = _json(shrout_fleiss_csv, "--measure", "icc")
    assert {name: round(value, 2) for name, value in report["value"].items()} == {
        "ICC(1,1)": 0.17,
        "ICC(2,1)": 0.29,
        "ICC(3,1)": 0.71,
        "ICC(1,k)": 0.44,
        "ICC(2,k)": 0.62,
        "ICC(3,k)": 0.91,
    }
    assert (report["n_units"], report["n_raters"], report["n_ratings"]) == (6, 4, 24)
    text = _text(shrout_fleiss_csv, "--measure", "icc")
    assert all(form in text for form in report["value"])


def test_kendall_w_on_a_crossed_design(shrout_fleiss_csv):
    report = _json(shrout_fleiss_csv, "--measure", "kendall_w")
    assert report["name"] == "Kendall's W (tie-corrected)"
    assert 0 < report["value"] <= 1


def test_text_output_names_the_coefficient_and_its_value(krippendorff_csv):
    text = _text(krippendorff_csv, "--measure", "alpha", "--level", "ordinal")
    assert "Krippendorff's alpha (ordinal): 0.815" in text
    assert "units: 11  raters: 4  ratings: 40" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("unit,coach,score\n1,a,2\n", "lacks column\\(s\\) rater, value"),
        ("unit,rater,value\n1,a,\n2,b,\n", "has no ratings"),
        ("unit,rater,value\n1,a,2\n1,a,3\n", "lines 2 and 3: rater a rated unit 1 twice"),
        ("unit,rater,value\n1,a,2\n1,b,good\n", "line 3: value 'good' is not a number"),
        ("unit,rater,value\n,a,2\n", "line 2: every row needs a unit and a rater"),
    ],
)
def test_bad_files_get_a_command_error_saying_what_to_fix(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        _json(path, "--measure", "alpha", "--level", "interval")


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        _json(tmp_path / "nothing.csv", "--measure", "alpha")


def test_one_rater_is_a_clear_error_not_a_nan(tmp_path):
    path = _write(tmp_path / "one.csv", [(1, "a", 1), (2, "a", 2), (3, "a", 3)])
    with pytest.raises(CommandError, match="no unit has two or more ratings"):
        _json(path, "--measure", "alpha")
    with pytest.raises(CommandError, match="at least two raters"):
        _json(path, "--measure", "icc")


def test_icc_refuses_a_design_that_is_not_fully_crossed(krippendorff_csv):
    with pytest.raises(CommandError, match="fully crossed"):
        _json(krippendorff_csv, "--measure", "icc")


def test_options_that_do_not_apply_are_refused(krippendorff_csv):
    with pytest.raises(CommandError, match="--level applies to --measure alpha only"):
        _json(krippendorff_csv, "--measure", "fleiss", "--level", "ordinal")
