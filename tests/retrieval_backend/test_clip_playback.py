"""Playing clips in the browser: rendered on first request, served with ranges, only to the right users."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import av
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory
from django.urls import reverse

from retrieval_backend.models import Clip, Sport, Video
from retrieval_backend.playback import segment_response
from retrieval_backend.video.probe import probe
from retrieval_backend.video.render import rendered_path
from tests.factories import ClipFactory, MistakeQueryFactory, SportFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db


def _video(path: Path, sport: Sport, **overrides) -> Video:
    info = probe(path)
    fields = {
        "sport": sport,
        "source_uri": str(path),
        "sha256": info.sha256,
        "size_bytes": info.size_bytes,
        "duration_s": info.duration_s,
        "fps": info.fps,
        "width": info.width,
        "height": info.height,
        "codec": info.codec,
        "has_audio": info.has_audio,
        "frame_count": info.frame_count,
        "probe_status": Video.ProbeStatus.OK,
    }
    return VideoFactory(**{**fields, **overrides})


def _clip(video: Video, start_s: float, end_s: float, external_id: str = "clip-1") -> Clip:
    return ClipFactory(
        video=video,
        sport=video.sport,
        external_id=external_id,
        start_s=start_s,
        end_s=end_s,
        skill="jump shot",
        narration="Keep your elbow under the ball as you rise.",
    )


@pytest.fixture
def sport() -> Sport:
    return SportFactory(slug="basketball", name="Basketball")


@pytest.fixture
def clip(make_video, sport: Sport) -> Clip:
    return _clip(_video(make_video("source.mp4", seconds=4, audio=True), sport), 1.0, 3.0)


@pytest.fixture
def researcher() -> Client:
    user = UserFactory(username="researcher", password=None, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_clip", "view_mistakequery"], content_type__app_label="retrieval_backend"
        )
    )
    client = Client()
    client.force_login(user)
    return client


def _url(clip: Clip) -> str:
    return reverse("media:clip", args=[clip.pk])


def _cached(clip: Clip, settings) -> Path:
    return rendered_path(settings.CLIP_CACHE_DIR, clip.video.sha256, clip.start_s, clip.end_s)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _full(researcher: Client, clip: Clip) -> tuple[bytes, dict[str, str]]:
    response = researcher.get(_url(clip))
    assert response.status_code == 200
    return _body(response), response.headers


# --- ranges ---------------------------------------------------------------------


def test_it_serves_the_whole_rendered_clip_without_a_range(researcher, clip, settings):
    response = researcher.get(_url(clip))
    body = _body(response)
    assert response.status_code == 200
    assert body == _cached(clip, settings).read_bytes()
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(body))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private"
    assert response["ETag"].startswith('"')
    assert "Content-Range" not in response


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-1", 0, 1),  # Safari's probe before it plays anything
        ("bytes=100-2099", 100, 2099),
        ("bytes=1000-", 1000, None),
        ("bytes=-500", -500, None),
        ("bytes=0-", 0, None),
    ],
)
def test_it_answers_a_range_with_exactly_those_bytes(researcher, clip, header, first, last):
    whole, _ = _full(researcher, clip)
    expected = whole[first:] if last is None else whole[first : last + 1]
    response = researcher.get(_url(clip), headers={"Range": header})
    assert response.status_code == 206
    assert _body(response) == expected
    start = first if first >= 0 else len(whole) + first
    assert response["Content-Range"] == f"bytes {start}-{start + len(expected) - 1}/{len(whole)}"
    assert response["Content-Length"] == str(len(expected))
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"


def test_it_clamps_a_range_that_runs_past_the_end(researcher, clip):
    whole, _ = _full(researcher, clip)
    response = researcher.get(_url(clip), headers={"Range": f"bytes={len(whole) - 10}-{len(whole) * 2}"})
    assert response.status_code == 206
    assert _body(response) == whole[-10:]


def test_it_refuses_a_range_past_the_end_with_416(researcher, clip):
    whole, _ = _full(researcher, clip)
    response = researcher.get(_url(clip), headers={"Range": f"bytes={len(whole)}-"})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(whole)}"
    assert b"outside the file" in response.content


def test_it_ignores_a_malformed_range_and_sends_the_whole_clip(researcher, clip):
    whole, _ = _full(researcher, clip)
    response = researcher.get(_url(clip), headers={"Range": "bytes=9-3"})
    assert response.status_code == 200
    assert _body(response) == whole


def test_a_real_clip_fetched_in_pieces_reassembles_into_a_playable_file(researcher, bikes_mp4, sport):
    """What a browser does while seeking: many small ranges, which must join up byte for byte."""
    clip = _clip(_video(bikes_mp4, sport), 2.0, 6.0, "bikes-1")
    whole, _ = _full(researcher, clip)
    pieces, offset, step = [], 0, 65_536
    while offset < len(whole):
        response = researcher.get(_url(clip), headers={"Range": f"bytes={offset}-{offset + step - 1}"})
        assert response.status_code == 206
        pieces.append(_body(response))
        offset += step
    assert b"".join(pieces) == whole
    with av.open(io.BytesIO(whole)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 272)
        assert sum(1 for _ in container.decode(stream)) == 100  # 4 s at 25 fps


# --- validators -------------------------------------------------------------------


def test_it_answers_304_when_the_browser_has_the_current_version(researcher, clip):
    _, headers = _full(researcher, clip)
    response = researcher.get(_url(clip), headers={"If-None-Match": headers["ETag"]})
    assert response.status_code == 304
    assert response["ETag"] == headers["ETag"]
    assert response.content == b""


def test_a_stale_if_none_match_gets_the_clip(researcher, clip):
    response = researcher.get(_url(clip), headers={"If-None-Match": '"something-else"'})
    assert response.status_code == 200


def test_if_range_with_a_stale_etag_gets_the_whole_new_clip(researcher, clip):
    whole, headers = _full(researcher, clip)
    stale = researcher.get(_url(clip), headers={"Range": "bytes=0-99", "If-Range": '"an-older-render"'})
    assert stale.status_code == 200
    assert _body(stale) == whole
    current = researcher.get(_url(clip), headers={"Range": "bytes=0-99", "If-Range": headers["ETag"]})
    assert current.status_code == 206
    assert _body(current) == whole[:100]


def test_the_etag_changes_when_the_clip_is_rendered_again(researcher, clip, settings):
    _, before = _full(researcher, clip)
    _cached(clip, settings).unlink()
    _, after = _full(researcher, clip)
    assert after["ETag"] != before["ETag"]


def test_under_asgi_it_streams_the_range_without_reading_the_whole_file(researcher, clip, async_client):
    """Django reads a plain iterator into memory under ASGI (and warns); the slice must stay streamed."""
    whole, _ = _full(researcher, clip)
    user = User.objects.get(username="researcher")

    async def fetch():
        await async_client.aforce_login(user)
        response = await async_client.get(_url(clip), headers={"Range": "bytes=100-4099"})
        return response, b"".join([chunk async for chunk in response.streaming_content])

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="StreamingHttpResponse must consume")
        response, body = async_to_sync(fetch)()
    assert response.status_code == 206
    assert body == whole[100:4100]


def test_head_describes_the_clip_without_sending_it(researcher, clip):
    whole, headers = _full(researcher, clip)
    response = researcher.head(_url(clip), headers={"Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(whole))
    assert response["ETag"] == headers["ETag"]
    assert response.content == b""


def test_it_refuses_to_change_a_clip(researcher, clip):
    assert researcher.post(_url(clip)).status_code == 405


# --- rendering --------------------------------------------------------------------


def test_the_first_request_renders_and_later_ones_reuse_the_file(researcher, clip, settings):
    cached = _cached(clip, settings)
    assert not cached.exists()
    first = researcher.get(_url(clip), headers={"Range": "bytes=0-1"})
    assert first.status_code == 206
    _body(first)
    rendered = cached.stat()
    second = researcher.get(_url(clip))
    _body(second)
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (rendered.st_ino, rendered.st_mtime_ns)
    assert second["ETag"] == first["ETag"]
    with av.open(str(cached)) as container:
        assert container.streams.video[0].codec_context.profile == "Main"
        assert container.streams.audio, "the source has audio, so the clip keeps it"
        assert abs(float(container.duration / av.time_base) - 2.0) < 0.15


def test_a_query_segment_plays_the_same_way(researcher, make_video, sport, settings):
    video = _video(make_video("query.mp4", seconds=3), sport, role=Video.Role.QUERY)
    query = MistakeQueryFactory(
        video=video, sport=sport, external_id="q-1", start_s=0.5, end_s=2.5, mistake="Elbow flares out."
    )
    response = researcher.get(reverse("media:query", args=[query.pk]), headers={"Range": "bytes=0-"})
    assert response.status_code == 206
    assert _body(response) == rendered_path(settings.CLIP_CACHE_DIR, video.sha256, 0.5, 2.5).read_bytes()


def test_a_video_that_cannot_be_rendered_gets_a_clear_422_and_leaves_no_file(researcher, clip, settings):
    Path(clip.video.source_uri).write_bytes(b"this is not a video any more")
    response = researcher.get(_url(clip))
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/plain")
    assert b"cannot be played" in response.content
    cache = Path(settings.CLIP_CACHE_DIR)
    left = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert left == [], "no partial render or lock file may stay behind"


def test_a_video_that_failed_probing_is_not_rendered(researcher, clip, settings):
    Video.objects.filter(pk=clip.video_id).update(probe_status=Video.ProbeStatus.FAILED, probe_error="truncated")
    response = researcher.get(_url(clip))
    assert response.status_code == 422
    assert b"failed probing: truncated" in response.content
    assert not _cached(clip, settings).exists()


def test_a_video_not_probed_yet_asks_to_retry_later(researcher, clip):
    Video.objects.filter(pk=clip.video_id).update(probe_status=Video.ProbeStatus.PENDING, sha256="")
    response = researcher.get(_url(clip))
    assert response.status_code == 503
    assert response["Retry-After"]


def test_a_coach_error_message_names_no_source_or_clip(clip):
    """The same core serves coaches' blind URLs: its errors must not unblind them."""
    Path(clip.video.source_uri).write_bytes(b"garbage")
    request = RequestFactory().get("/anything")
    request.user = UserFactory(username="coach1", password=None)
    response = segment_response(request, clip.video, clip.start_s, clip.end_s)
    assert response.status_code == 422
    text = response.content.decode()
    assert clip.video.source_uri not in text
    assert "source.mp4" not in text
    assert clip.video.sha256 not in text
    assert "tell the study team" in text


# --- who may watch ----------------------------------------------------------------


def test_an_anonymous_visitor_is_refused_and_nothing_is_rendered(client, clip, settings):
    for url in (_url(clip), reverse("media:query", args=[1])):
        response = client.get(url)
        assert response.status_code == 403
        assert b"Log in" in response.content
    assert not _cached(clip, settings).exists()


def test_a_coach_cannot_fetch_clips_or_queries_by_id(client, clip, settings):
    client.force_login(UserFactory(username="coach1", password=None))
    for url in (_url(clip), reverse("media:query", args=[1])):
        response = client.get(url)
        assert response.status_code == 403
        assert b"assignments" in response.content
    assert not _cached(clip, settings).exists()


def test_staff_without_the_gallery_permission_is_refused(client, clip):
    client.force_login(UserFactory(username="helpdesk", password=None, is_staff=True))
    assert client.get(_url(clip)).status_code == 403


def test_a_superuser_may_fetch_by_id(client, clip):
    client.force_login(UserFactory(username="boss", password=None, superuser=True))
    assert client.get(_url(clip), headers={"Range": "bytes=0-1"}).status_code == 206


def test_an_unknown_clip_is_404_for_researchers(researcher):
    assert researcher.get(reverse("media:clip", args=[999_999])).status_code == 404


# --- front server -----------------------------------------------------------------


def test_it_hands_the_file_to_the_front_server_when_configured(researcher, clip, settings):
    settings.MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    response = researcher.get(_url(clip), headers={"Range": "bytes=0-1"})
    cached = _cached(clip, settings)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/" + cached.relative_to(settings.MEDIA_ROOT).as_posix()
    assert response["X-Accel-Redirect"].startswith("/protected-media/clips/")
    assert response["Content-Type"] == "video/mp4"
    assert response.content == b""
    assert cached.is_file(), "the clip is rendered before nginx is asked to serve it"
