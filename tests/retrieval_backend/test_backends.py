"""Each backend alone: parameters, encoders, the registry and its entry points, the admin's backend field."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from retrieval_backend.methods import (
    BackendNotFound,
    BackendParamsError,
    ClipItem,
    Encoded,
    QueryItem,
    available_backends,
    backend_class,
)
from retrieval_backend.methods.visual import VisualBackend
from retrieval_backend.video.synthetic import moving_bar
from tests.retrieval_backend.fake_backend import fake_distribution, install_fake_distribution  # noqa: F401 - fixture
from tests.retrieval_backend.tiny_encoder import write_exported, write_state_dict, write_torchscript

NARRATIONS = [
    "Keep your shooting elbow tucked under the ball and snap your wrist on the free throw.",
    "Toss the ball slightly in front of you and reach up high on the tennis serve.",
    "Bend your knees and keep your back straight when you lift the barbell from the floor.",
]


def clip(pk: int, narration: str = "", uri: str = "", sport: int = 1, start: float = 0.0, end: float = 2.0):
    return ClipItem(pk=pk, sport_id=sport, video_uri=uri, start_s=start, end_s=end, narration=narration)


def query(pk: int, mistake: str = "", uri: str = "", sport: int = 1, start: float = 0.0, end: float = 2.0):
    return QueryItem(pk=pk, sport_id=sport, video_uri=uri, start_s=start, end_s=end, mistake=mistake)


def static_colour(rgb: tuple[int, int, int], width: int = 160, height: int = 120):
    def draw(index: int, t: float) -> np.ndarray:
        return np.broadcast_to(np.array(rgb, dtype=np.uint8), (height, width, 3)).copy()

    return draw


# --- registry ---------------------------------------------------------------------------------


def test_built_in_backends_are_registered():
    assert {"random", "narration-text", "visual", "mistake-conditioned"} <= set(available_backends())


def test_an_unknown_backend_names_the_available_ones():
    with pytest.raises(BackendNotFound, match="available: random, narration-text"):
        backend_class("no-such-model")


@pytest.mark.usefixtures("fake_distribution")
def test_a_third_party_backend_is_found_through_its_entry_point():
    backends = available_backends()
    assert backends["length-model"].__module__ == "fake_coach_model"
    backend = backend_class("length-model")({"any_sport": True})
    vectors = Encoded.of(backend.encode_clips([clip(1, "abc"), clip(2, "abcdef")]), 2).vectors
    assert vectors.shape == (2, 2)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_a_broken_entry_point_is_left_out_instead_of_breaking_the_list(tmp_path, monkeypatch, caplog):
    root = tmp_path / "broken"
    root.mkdir()
    install_fake_distribution(root, "raise ImportError('needs a GPU library')\n", "broken = fake_coach_model:Nope")
    monkeypatch.syspath_prepend(str(root))
    try:
        backends = available_backends()
    finally:
        sys.modules.pop("fake_coach_model", None)
    assert "broken" not in backends
    assert "random" in backends
    assert "could not load retrieval backend 'broken'" in caplog.text


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "params", "message"),
    [
        ("visual", {"framez": 8}, "unknown parameter(s) 'framez' for backend 'visual'"),
        ("visual", {"frames": 0}, "frames must be a whole number from 1 to 256"),
        ("visual", {"checkpoint": "/nowhere/enc.pt"}, "is not a file on this machine"),
        ("visual", {"layout": "NCHW"}, 'layout must be "BTCHW" or "BCTHW"'),
        ("visual", {"size": [64]}, "size must be [height, width]"),
        ("random", {"seed": -1}, "seed must be a whole number of 0 or more"),
        ("random", {"index": "ivf"}, 'index must be "flat" or "hnsw"'),
        ("narration-text", {"model_path": "/nowhere"}, "is not a folder on this machine"),
        ("mistake-conditioned", {"weight": 1.5}, "weight must be a number from 0 to 1"),
        ("mistake-conditioned", {"visual": {"frames": "8"}}, "in visual: frames must be a whole number"),
    ],
)
def test_bad_parameters_are_rejected_with_what_to_fix(backend, params, message):
    with pytest.raises(BackendParamsError) as caught:
        backend_class(backend).validate_params(params)
    assert message in str(caught.value)


def test_the_visual_baseline_says_it_is_weak_and_a_checkpoint_does_not(tmp_path):
    write_torchscript(tmp_path / "enc.pt")
    assert "Weak baseline" in VisualBackend.weak_baseline_warning(VisualBackend.validate_params({}))
    assert (
        VisualBackend.weak_baseline_warning(VisualBackend.validate_params({"checkpoint": str(tmp_path / "enc.pt")}))
        == ""
    )


def test_search_time_parameters_keep_the_embeddings_and_model_parameters_change_them():
    fused = backend_class("mistake-conditioned")
    assert fused({"weight": 0.2, "pool": 10}).embedding_key() == fused({"weight": 0.9}).embedding_key()
    assert fused({}).embedding_key() != fused({"visual": {"frames": 4}}).embedding_key()


# --- random -----------------------------------------------------------------------------------


def test_random_draws_are_reproducible_per_query_and_stay_in_the_sport():
    backend = backend_class("random")({"seed": 3})
    pools = {1: np.arange(100, 150), 2: np.arange(500, 520)}
    queries = [query(10, sport=1), query(11, sport=2), query(12, sport=1)]
    first = backend.rank_without_index(queries, pools, 10)
    alone = backend.rank_without_index([queries[2]], pools, 10)
    assert first[12] == alone[12]  # a query's draw does not depend on the other queries
    assert first == backend.rank_without_index(queries, pools, 10)
    assert all(500 <= c < 520 for c, _ in first[11])
    assert all(100 <= c < 150 for c, _ in first[10])
    assert len({c for c, _ in first[10]}) == 10
    assert [s for _, s in first[10]] == sorted((s for _, s in first[10]), reverse=True)
    assert backend_class("random")({"seed": 4}).rank_without_index(queries, pools, 10)[10] != first[10]


# --- text -------------------------------------------------------------------------------------


def test_the_packaged_text_model_ranks_the_related_narration_first():
    backend = backend_class("narration-text")({})
    clips = Encoded.of(backend.encode_clips([clip(i, n) for i, n in enumerate(NARRATIONS)]), 3).vectors
    mistakes = [
        "My elbow flares out and my free throws miss to the left.",
        "I toss the ball behind my head when I serve.",
        "My lower back rounds when I pull the bar off the ground.",
    ]
    queries = Encoded.of(backend.encode_queries([query(i, m) for i, m in enumerate(mistakes)]), 3).vectors
    assert clips.shape == (3, backend.dim) == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(clips, axis=1), 1.0, rtol=1e-5)
    similarity = queries @ clips.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


# --- visual -----------------------------------------------------------------------------------


def test_the_visual_baseline_tells_motion_and_colour_apart(make_video):
    bar_a = make_video("bar-a.mp4", seconds=2, draw=moving_bar(160, 120))
    bar_b = make_video("bar-b.mp4", seconds=2, draw=moving_bar(160, 120))
    red = make_video("red.mp4", seconds=2, draw=static_colour((220, 30, 30)))
    backend = VisualBackend({"frames": 8})
    encoded = backend.encode_clips([clip(1, uri=str(bar_a)), clip(2, uri=str(bar_b)), clip(3, uri=str(red))])
    vectors = Encoded.of(encoded, 3).vectors
    assert vectors.shape == (3, backend.dim)
    assert not encoded.failed
    assert vectors[0] @ vectors[1] > 0.99  # the same content encodes the same
    assert vectors[0] @ vectors[2] < vectors[0] @ vectors[1] - 0.2


def test_an_undecodable_video_is_a_per_item_failure(make_video, tmp_path):
    good = make_video("good.mp4", seconds=2)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    encoded = VisualBackend({"frames": 4}).encode_clips([clip(1, uri=str(good)), clip(2, uri=str(broken))])
    assert list(encoded.failed) == [1]
    assert "broken.mp4" in encoded.failed[1]
    assert np.linalg.norm(encoded.vectors[0]) == pytest.approx(1.0, rel=1e-5)
    assert not encoded.vectors[1].any()


def test_a_torchscript_encoder_is_loaded_from_its_path(make_video, tmp_path):
    write_torchscript(tmp_path / "team-encoder.pt", dim=24)
    video = make_video("a.mp4", seconds=2)
    backend = VisualBackend({"checkpoint": str(tmp_path / "team-encoder.pt"), "frames": 4, "size": [32, 32]})
    vectors = Encoded.of(backend.encode_clips([clip(1, uri=str(video))]), 1).vectors
    assert backend.dim == 24
    assert vectors.shape == (1, 24)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, rel=1e-5)


def test_a_state_dict_is_loaded_into_the_named_module(make_video, tmp_path):
    write_state_dict(tmp_path / "weights.pth", dim=12)
    write_torchscript(tmp_path / "same.pt", dim=12)
    video = make_video("a.mp4", seconds=2)
    common = {"frames": 4, "size": [32, 32]}
    from_state = VisualBackend(
        {
            **common,
            "checkpoint": str(tmp_path / "weights.pth"),
            "module": "tests.retrieval_backend.tiny_encoder:TinyVideoEncoder",
            "module_kwargs": {"dim": 12},
        }
    )
    scripted = VisualBackend({**common, "checkpoint": str(tmp_path / "same.pt")})
    items = [clip(1, uri=str(video))]
    np.testing.assert_allclose(
        Encoded.of(from_state.encode_clips(items), 1).vectors,
        Encoded.of(scripted.encode_clips(items), 1).vectors,
        rtol=1e-5,
    )


def test_a_torch_export_program_is_loaded_and_gives_the_torchscript_vectors(make_video, tmp_path):
    write_exported(tmp_path / "team-encoder.pt2", dim=16)
    write_torchscript(tmp_path / "team-encoder.pt", dim=16)
    videos = [make_video(f"v{i}.mp4", seconds=2) for i in range(3)]
    common = {"frames": 4, "size": [32, 32], "batch_size": 2}  # batches of 2 then 1: the batch size varies
    exported = VisualBackend({**common, "checkpoint": str(tmp_path / "team-encoder.pt2")})
    scripted = VisualBackend({**common, "checkpoint": str(tmp_path / "team-encoder.pt")})
    items = [clip(i + 1, uri=str(v)) for i, v in enumerate(videos)]
    assert exported.dim == 16
    np.testing.assert_allclose(
        Encoded.of(exported.encode_clips(items), 3).vectors,
        Encoded.of(scripted.encode_clips(items), 3).vectors,
        rtol=1e-5,
        atol=1e-6,
    )


def test_a_program_exported_for_one_batch_size_says_to_export_a_dynamic_batch(tmp_path):
    write_exported(tmp_path / "fixed.pt2", dynamic_batch=False)
    backend = VisualBackend({"checkpoint": str(tmp_path / "fixed.pt2"), "frames": 4, "size": [32, 32]})
    with pytest.raises(ValueError, match=r"export it with a dynamic batch dimension"):
        _ = backend.dim
    (tmp_path / "garbage.pt2").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"is not a torch.export program \(.pt2\)"):
        _ = VisualBackend({"checkpoint": str(tmp_path / "garbage.pt2")}).dim


def test_a_state_dict_without_its_module_says_to_name_the_module(make_video, tmp_path):
    write_state_dict(tmp_path / "weights.pth")
    backend = VisualBackend({"checkpoint": str(tmp_path / "weights.pth")})
    with pytest.raises(ValueError, match=r"is not a TorchScript file.*set module"):
        _ = backend.dim


# --- admin ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("fake_distribution")
def test_the_admin_form_offers_installed_backends_and_checks_parameters():
    from retrieval_backend.method_admin import RetrievalMethodForm

    form = RetrievalMethodForm(data={"name": "v", "backend": "visual", "params": '{"frames": 0}', "version": "1"})
    assert not form.is_valid()
    assert "frames must be a whole number from 1 to 256" in form.errors["params"][0]
    choices = dict(form.fields["backend"].choices)
    assert {"random", "visual", "length-model"} <= set(choices)
    form = RetrievalMethodForm(data={"name": "v", "backend": "length-model", "params": "{}", "version": "1"})
    assert form.is_valid(), form.errors


@pytest.mark.django_db
def test_the_admin_shows_the_weak_baseline_warning(admin_client):
    from tests.factories import RetrievalMethodFactory

    method = RetrievalMethodFactory(name="visual-baseline", backend="visual", params={})
    page = admin_client.get(f"/admin/retrieval_backend/retrievalmethod/{method.pk}/change/")
    assert page.status_code == 200
    assert "Weak baseline: no checkpoint is set" in page.content.decode()
    response = admin_client.post(
        "/admin/retrieval_backend/retrievalmethod/add/",
        {"name": "vis2", "backend": "visual", "params": "{}", "version": "1", "description": ""},
        follow=True,
    )
    assert "Method vis2: Weak baseline" in response.content.decode()
