"""The report's inline figures draw under a policy that forbids inline styles: styles become SVG attributes."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from annotations.research.report_page import figure_for_page

SVG = "{http://www.w3.org/2000/svg}"


def _matplotlib_svg(title: str) -> str:
    with plt.rc_context({"svg.fonttype": "none"}):
        figure, axes = plt.subplots(figsize=(3, 2))
        axes.bar(["alpha", "beta"], [3, 4], color=["#1f77b4", "#ff7f0e"])
        axes.axhline(1, linestyle="--")
        axes.set_title(title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg")
        plt.close(figure)
    text = buffer.getvalue().decode()
    return text[text.find("<svg") :]


def test_styles_become_presentation_attributes():
    original = _matplotlib_svg("Leaderboard")
    assert ' style="' in original
    assert "<style" in original
    page = figure_for_page(original)
    assert ' style="' not in page
    assert "<style" not in page
    root = ET.fromstring(page)
    # The document-wide rule moved to the root, whence it is inherited.
    assert root.get("stroke-linejoin") == "round"
    fills = {el.get("fill") for el in root.iter(f"{SVG}path")}
    assert {"#1f77b4", "#ff7f0e"} <= fills
    text = next(root.iter(f"{SVG}text"))
    assert text.get("font-size")
    assert text.get("text-anchor")


def test_a_label_that_looks_like_an_attribute_stays_text():
    page = figure_for_page(_matplotlib_svg('coach "x" style="fill: red" <b>'))
    root = ET.fromstring(page)
    titles = [el.text for el in root.iter(f"{SVG}text")]
    assert 'coach "x" style="fill: red" <b>' in titles
    assert not re.search(r"<text[^>]*\sstyle=", page)
