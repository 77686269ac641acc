"""Study instructions are Markdown from researchers; what reaches a coach's page is inert HTML.

Each payload is a way to run script through Markdown or raw HTML. The rendered HTML is
parsed, and no element may be a script-capable one, carry an event handler or a style,
or link anywhere but http(s) and mailto.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from annotations.coach.instructions import ALLOWED_TAGS, render_instructions
from tests.annotations.rating_setup import live_study, rows_only_gallery
from tests.studies.conftest import make_coach

PAYLOADS = [
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<a href='javascript:alert(1)'>click</a>",
    "<style>body{display:none}</style>",
    '<p style="background:url(https://evil.example/)">x</p>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](%6Aavascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[ref][x]\n\n[x]: javascript:alert(1)",
    "![img](javascript:alert(1))",
    "<javascript:alert(1)>",
    '[click](https://ok.example "onmouseover=alert(1)")',
    "| a |\n|---|\n| <script>alert(1)</script> |",
    "```\n<script>alert(1)</script>\n```",
    "**bold <b onmouseover=alert(1)>x</b>**",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.elements


@pytest.mark.parametrize("payload", PAYLOADS)
def test_instructions_render_inert(payload):
    html = str(render_instructions(payload))
    for tag, attrs in _elements(html):
        assert tag in ALLOWED_TAGS, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            assert name != "style", html
            if name == "href":
                # A relative link (no scheme, as a browser parses it) stays on this site.
                assert urlsplit(value or "").scheme in {"", "http", "https", "mailto"}, html
            assert "javascript" not in (value or "").lower(), html


def test_raw_html_in_instructions_is_shown_as_text_not_dropped():
    html = str(render_instructions("Use <b>bold</b> sparingly"))
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_links_open_apart_from_the_coachs_page():
    html = str(render_instructions("[guide](https://coaching.example/serve)"))
    (_, attrs), *_ = [e for e in _elements(html) if e[0] == "a"]
    assert attrs["href"] == "https://coaching.example/serve"
    assert attrs["target"] == "_blank"
    assert set(attrs["rel"].split()) >= {"noopener", "noreferrer"}


@pytest.mark.django_db
def test_the_study_page_and_the_api_show_the_sanitised_instructions(client):
    gallery = rows_only_gallery()
    study = live_study(gallery, instructions="Watch closely.\n\n" + "\n\n".join(PAYLOADS))
    coach = make_coach("ana", sports=[gallery.sport])
    client.force_login(coach)
    page = client.get(reverse("coach:study", args=[study.slug])).content.decode()
    prose = page.split('<div class="prose">', 1)[1].split("</div>", 1)[0]
    assert "Watch closely." in prose
    for tag, attrs in _elements(prose):
        assert tag in ALLOWED_TAGS
        assert not any(name.startswith("on") or name == "style" for name in attrs)
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=coach).key}")
    (card,) = api.get(reverse("api:coach-studies")).json()
    # The Markdown as written (JSON, text for the client to render) and the same sanitised for display.
    assert card["instructions"] == study.instructions
    assert card["instructions_html"] == str(render_instructions(study.instructions))
    for tag, attrs in _elements(card["instructions_html"]):
        assert tag in ALLOWED_TAGS
        assert not any(name.startswith("on") or name == "style" for name in attrs)
