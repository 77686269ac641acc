"""Render the demo's videos and write its two manifests (``gallery.jsonl``, ``queries.jsonl``).

The manifests use the same format as any researcher's, so ``seed_demo`` imports
them through ``import_gallery`` and ``import_queries`` and the demo exercises the
real path. Videos already on disk are kept, because the importers recognise
videos by checksum and re-rendering only costs time.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from demo.gallery.canvas import Canvas
from demo.gallery.catalogue import DemoQuery, DemoVideo, Take, gallery_videos, mistake_queries
from demo.gallery.figure import Kit
from demo.gallery.skill import Rep, Skill
from retrieval_backend.video.synthetic import write_synthetic_video

WIDTH, HEIGHT, FPS = 320, 240, 25
GALLERY_MANIFEST = "gallery.jsonl"
QUERIES_MANIFEST = "queries.jsonl"


@dataclass(frozen=True)
class DemoFiles:
    folder: Path
    gallery_manifest: Path
    queries_manifest: Path
    rendered: int  # videos written by this call (the others were already there)


def frames_per_take(skill: Skill) -> int:
    return round(skill.seconds * FPS)


def _draw_takes(skill: Skill, kit: Kit, takes: Sequence[Take], *, shift: float = 0.0, tempo: float = 1.0):
    """The draw function for ``write_synthetic_video``: takes one after another, one repetition each."""
    per_take = frames_per_take(skill)
    ground_y = 0.9 * HEIGHT
    backdrop = skill.backdrop(WIDTH, HEIGHT, ground_y)
    reps = {
        fault: Rep(skill, fault, kit, width=WIDTH, height=HEIGHT, shift=shift, tempo=tempo)
        for fault in {take.fault for take in takes}
    }

    def draw(index: int, _t: float) -> np.ndarray:
        take = takes[min(index // per_take, len(takes) - 1)]
        phase = (index % per_take) / (per_take - 1)
        canvas = Canvas(backdrop)
        reps[take.fault].draw(canvas, phase, take.overlay)
        return canvas.image()

    return draw


def _render(path: Path, n_frames: int, draw: Callable[[int, float], np.ndarray]) -> None:
    # Written aside and renamed, so an interrupted run never leaves a half video that looks finished.
    partial = path.with_name(path.name + ".partial")
    write_synthetic_video(partial, seconds=n_frames / FPS, fps=FPS, width=WIDTH, height=HEIGHT, draw=draw)
    os.replace(partial, path)


def gallery_line(video: DemoVideo) -> dict:
    per_take = frames_per_take(video.skill)
    clips, frame = [], 0
    for clip in video.clips:
        start, frame = frame, frame + per_take * len(clip.takes)
        clips.append(
            {
                "id": clip.external_id,
                "start": round(start / FPS, 3),
                "end": round(frame / FPS, 3),
                "skill": video.skill.name,
                "narration": clip.narration,
            }
        )
    return {
        "video": video.path,
        "sport": video.skill.sport,
        "title": video.title,
        "external_id": video.external_id,
        "clips": clips,
    }


def query_line(query: DemoQuery) -> dict:
    return {
        "id": query.external_id,
        "video": query.path,
        "sport": query.skill.sport,
        "skill": query.skill.name,
        "start": 0.0,
        "end": round(frames_per_take(query.skill) / FPS, 3),
        "mistake": query.mistake,
        "positives": list(query.positives),
    }


def build_demo(folder: str | Path, *, force: bool = False, workers: int | None = None) -> DemoFiles:
    """Render whatever videos are missing (all of them with ``force``) and write both manifests.

    Videos render in ``workers`` processes (default: up to two), as drawing and
    encoding are CPU-bound and the videos are independent.
    """
    folder = Path(folder)
    videos, queries = gallery_videos(), mistake_queries()
    jobs = [("gallery", i) for i, v in enumerate(videos) if force or not (folder / v.path).exists()]
    jobs += [("query", i) for i, q in enumerate(queries) if force or not (folder / q.path).exists()]
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    if workers > 1 and len(jobs) > 1:
        # spawn, not fork: the caller may hold database connections a forked child must not share.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            list(pool.map(render_one, [folder] * len(jobs), [kind for kind, _ in jobs], [i for _, i in jobs]))
    else:
        for kind, index in jobs:
            render_one(folder, kind, index)
    gallery = _write_jsonl(folder / GALLERY_MANIFEST, [gallery_line(v) for v in videos])
    queries_path = _write_jsonl(folder / QUERIES_MANIFEST, [query_line(q) for q in queries])
    return DemoFiles(folder=folder, gallery_manifest=gallery, queries_manifest=queries_path, rendered=len(jobs))


def render_one(folder: Path, kind: str, index: int) -> None:
    """Render one gallery video (``kind`` "gallery") or query recording ("query"), by its place in the catalogue.

    Named by position rather than passed as an object, so a worker process gets a cheap argument to unpickle.
    """
    if kind == "gallery":
        video = gallery_videos()[index]
        takes = [take for clip in video.clips for take in clip.takes]
        path, skill = folder / video.path, video.skill
        draw = _draw_takes(skill, video.kit, takes)
    else:
        query = mistake_queries()[index]
        takes = [Take(query.fault)]
        path, skill = folder / query.path, query.skill
        draw = _draw_takes(skill, query.kit, takes, shift=query.shift, tempo=query.tempo)
    path.parent.mkdir(parents=True, exist_ok=True)
    _render(path, frames_per_take(skill) * len(takes), draw)


def _write_jsonl(path: Path, lines: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path
