"""Cursor pagination: a script walks every page forward and back, and a cursor the API never gave is a 400."""

from __future__ import annotations

import base64

import pytest

from core.models import Job
from retrieval_backend.models import Clip

pytestmark = pytest.mark.django_db


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


# Clips page in id order, jobs newest first: both ways a cursor's position is read.
ENDPOINTS = ["/api/v1/clips/", "/api/v1/jobs/"]

MALFORMED = {
    "percent signs": "%%%",
    "base64 of a word, no fields": _b64("hello"),
    "not base64": "garbage",
    "empty": "",
    "an unknown field": _b64("p=3&x=1"),
    "a field twice": _b64("p=3&p=4"),
    "a position that is no id": _b64("p=abc"),
    "a position with leading zeros": _b64("p=007"),
    "a negative offset": _b64("o=-1&p=3"),
    "an offset of zero": _b64("o=0&p=3"),
    "a direction other than 1": _b64("r=2&p=3"),
    "a direction alone": _b64("r=1"),
    "an empty field": _b64("p=3&"),
    "padding left off": _b64("p=12").rstrip("="),
    "the URL-safe alphabet": _b64(b"p=3\xfb\xff").replace("+", "-").replace("/", "_"),
    "bytes that are not text": _b64(b"\xff\xfe"),
    "not ASCII": "cD0z\u00e9",
}


@pytest.fixture
def rows(gallery):
    for n in range(5):
        Job.objects.create(kind="generate_candidates", total=n + 1)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("cursor", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_cursor_this_api_never_gave_is_refused_with_what_to_do(api, researcher, rows, endpoint, cursor):
    response = api(researcher).get(endpoint, {"cursor": cursor})
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid"
    assert body["detail"].startswith("cursor: is not a cursor this API gave out")
    assert "start from the first page without a cursor" in body["detail"]
    assert "follow the `next` or `previous` link of a page as given" in body["errors"]["cursor"][0]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("/api/v1/clips/", lambda: list(Clip.objects.order_by("id").values_list("id", flat=True))),
        ("/api/v1/jobs/", lambda: list(Job.objects.order_by("-id").values_list("id", flat=True))),
    ],
)
def test_the_next_and_previous_links_walk_every_row_once_each_way(api, researcher, rows, endpoint, expected):
    client = api(researcher)
    forward, pages, url = [], [], f"{endpoint}?page_size=2"
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.json()
        pages.append(page.json())
        forward += [row["id"] for row in page.json()["results"]]
        url = page.json()["next"]
    assert forward == expected()
    backward, url = [], pages[-1]["previous"]
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.json()
        backward = [row["id"] for row in page.json()["results"]] + backward
        url = page.json()["previous"]
    assert backward == forward[: len(forward) - len(pages[-1]["results"])]
