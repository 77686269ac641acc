"""GPU check for a lent GPU machine: ``python tests/benchmarks/gpu_check.py`` (under 3 minutes, no database).

Measures, on CUDA in bf16:
- video encoder throughput at batch 64: a randomly initialised 3D-conv encoder
  of R3D-18's shape (16 frames of 112x112 in, 512 out), as a stand-in for a
  team's TorchScript model, and the training-free baseline descriptor;
- search on the GPU: 630,000 x 512 clip vectors, 1,000 queries, k=50, with
  faiss's GPU index when this faiss has one, else torch matmul + topk;
- coachbench's own worker path with ``TORCH_DEVICE=cuda``: the ``visual``
  backend with a TorchScript encoder and with the baseline, its vectors on the
  GPU in bf16 against the same frames on the CPU in float32 (cosine), and,
  where PyAV is installed, whole clips decoded from synthetic H.264 videos and
  embedded on the GPU against decoding alone.

On a machine without a GPU it says so and exits 0. ``--smoke-cpu`` runs the
same code on CPU with tiny sizes, to check the script itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere

from retrieval_backend.methods.appearance_motion import appearance_motion_descriptor


def conv_block(c_in: int, c_out: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv3d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class R3DShapedEncoder(nn.Module):
    """(B, 3, T, H, W) -> (B, 512): the layer shapes of R3D-18, without its weights."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(3, 64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )
        self.stages = nn.Sequential(
            conv_block(64, 64, (1, 1, 1)),
            conv_block(64, 128, (2, 2, 2)),
            conv_block(128, 256, (2, 2, 2)),
            conv_block(256, 512, (2, 2, 2)),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up: kernels chosen, memory pooled
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - started) / repeats


def encoder_throughput(device: torch.device, batch: int, frames: int, side: int, repeats: int) -> None:
    model = R3DShapedEncoder().to(device).eval()
    clips = torch.rand(batch, 3, frames, side, side, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    with torch.inference_mode(), autocast:
        seconds = _time(lambda: model(clips), device, repeats)
    precision = "bf16" if device.type == "cuda" else "fp32"
    print(f"R3D-shaped encoder, batch {batch} x {frames} x {side}x{side}, {precision}: {batch / seconds:8.1f} clips/s")
    raw = torch.randint(0, 256, (batch, 16, 24, 32, 3), dtype=torch.uint8, device=device)
    with torch.inference_mode():
        seconds = _time(lambda: appearance_motion_descriptor(raw), device, repeats)
    print(f"baseline descriptor, batch {batch} x 16 frames 32x24:      {batch / seconds:8.1f} clips/s")


def gpu_search(device: torch.device, n: int, dim: int, nq: int, k: int) -> None:
    generator = torch.Generator(device=device).manual_seed(0)
    gallery = torch.nn.functional.normalize(torch.randn(n, dim, device=device, generator=generator), dim=1)
    queries = torch.nn.functional.normalize(torch.randn(nq, dim, device=device, generator=generator), dim=1)
    print(f"search: {n:,} x {dim} gallery, {nq:,} queries, k={k}")
    try:
        import faiss

        has_gpu_faiss = hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except ImportError:
        has_gpu_faiss = False
    if has_gpu_faiss and device.type == "cuda":
        resources = faiss.StandardGpuResources()
        index = faiss.GpuIndexFlatIP(resources, dim)
        index.add(gallery.cpu().numpy())
        host_queries = queries.cpu().numpy()
        seconds = _time(lambda: index.search(host_queries, k), device, 3)
        print(f"  faiss GpuIndexFlatIP batch: {seconds * 1000:8.1f} ms ({seconds * 1000 / nq:.3f} ms/query)")
    else:
        print("  faiss has no GPU build here: torch matmul + topk on GPU tensors")
    for dtype in (torch.float32, torch.bfloat16):
        stored, asked = gallery.to(dtype), queries.to(dtype)
        with torch.inference_mode():
            batch_s = _time(lambda s=stored, q=asked: torch.topk(q @ s.T, k, dim=1), device, 3)
            one_s = _time(lambda s=stored, q=asked: torch.topk(q[:1] @ s.T, k, dim=1), device, 20)
        name = str(dtype).removeprefix("torch.")
        print(
            f"  torch {name:8s} batch: {batch_s * 1000:8.1f} ms ({batch_s * 1000 / nq:.3f} ms/query); "
            f"one query: {one_s * 1000:.2f} ms"
        )
    if device.type == "cuda":
        print(f"  peak GPU memory: {torch.cuda.max_memory_allocated() / 1e9:.1f} GB")


def _cosines(a, b) -> tuple[float, float]:
    """(min, mean) cosine between matching rows of two sets of unit vectors."""
    import numpy as np

    cos = np.sum(a * b, axis=1)
    return float(cos.min()), float(cos.mean())


def worker_paths(
    device: torch.device, clips: int, side: int, batch: int, videos: int, worker_processes: tuple[int, ...]
) -> None:
    """VisualBackend.embed_frames / encode_clips as a gpu-queue worker runs them, TORCH_DEVICE by device."""
    import os
    import tempfile

    import numpy as np

    from retrieval_backend.methods.visual import VisualBackend

    print(f"coachbench visual backend, TORCH_DEVICE={device.type}:")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "encoder.pt"
        torch.manual_seed(0)
        example = torch.zeros(1, 3, 16, side, side)
        torch.jit.save(torch.jit.trace(R3DShapedEncoder().eval(), example), str(checkpoint))
        trained = {"checkpoint": str(checkpoint), "layout": "BCTHW", "size": [side, side], "batch_size": batch}
        for label, params, shape in (
            ("TorchScript R3D-shaped encoder", trained, (clips, 16, side, side, 3)),
            ("appearance-and-motion baseline", {"batch_size": batch}, (clips, 16, 24, 32, 3)),
        ):
            frames = rng.integers(0, 256, shape, dtype=np.uint8)
            # Same weights and frames on the CPU in float32: the reference for the GPU's bf16 vectors.
            os.environ["TORCH_DEVICE"] = "cpu"
            reference = VisualBackend(params).embed_frames(frames[:8])
            os.environ["TORCH_DEVICE"] = device.type
            backend = VisualBackend(params)
            backend.embed_frames(frames[:batch])  # warm-up: load, kernels, memory pool
            _sync(device)
            started = time.perf_counter()
            vectors = backend.embed_frames(frames)
            _sync(device)
            seconds = time.perf_counter() - started
            low, mean = _cosines(vectors[:8], reference)
            print(
                f"  {label}: {clips / seconds:8.1f} clips/s from uint8 frames in host memory "
                f"(batch {batch}); 1 - cosine to CPU float32: max {1 - low:.1e}, mean {1 - mean:.1e}"
            )
        try:
            import av  # noqa: F401
        except ImportError:
            print("  PyAV is not installed here: decode + embed not measured")
            return
        from retrieval_backend.methods import ClipItem
        from retrieval_backend.video.sampling import decode_segment
        from retrieval_backend.video.synthetic import write_synthetic_video

        items = []
        for v in range(videos):
            path = write_synthetic_video(Path(folder) / f"v{v}.mp4", seconds=12, width=640, height=360)
            items += [
                ClipItem(pk=len(items) + 1, sport_id=1, video_uri=str(path), start_s=s, end_s=s + 3.0)
                for s in range(0, 10, 3)
            ]
        from retrieval_backend.video.sampling import sample_frames

        trained_backend = VisualBackend({**trained, "batch_size": batch})
        baseline_backend = VisualBackend({"batch_size": batch})
        runs = {
            "decode alone (every frame)": lambda: [decode_segment(c.video_uri, c.start_s, c.end_s) for c in items],
            f"sample 16 frames at {side}x{side}": lambda: [
                sample_frames(c.video_uri, c.start_s, c.end_s, 16, size=(side, side)) for c in items
            ],
            f"decode + embed, TorchScript 16 x {side}x{side}": lambda: trained_backend.encode_clips(items),
            "decode + embed, baseline 16 x 32x24": lambda: baseline_backend.encode_clips(items),
        }
        best = dict.fromkeys(runs, 0.0)
        for _ in range(3):  # the first round also warms up: kernels chosen for this batch shape, files cached
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                best[name] = max(best[name], len(items) / (time.perf_counter() - started))
        print(
            f"  one worker process, {len(items)} clips of 3 s from {videos} synthetic 640x360 H.264 videos, best of 3:"
        )
        for name, rate in best.items():
            print(f"    {name:55s} {rate:8.1f} clips/s")
        for processes in worker_processes:
            for threads in (0, 1):
                rate = _worker_processes_rate(processes, threads, trained, items, batch)
                print(
                    f"  GPU_WORKER_CONCURRENCY={processes:<2d} VIDEO_DECODE_THREADS={threads}: {rate:8.1f} clips/s "
                    "decoded + embedded with the TorchScript encoder"
                )


def _worker_process_setup(threads: int) -> None:
    import os

    os.environ["VIDEO_DECODE_THREADS"] = str(threads)
    os.environ["TORCH_DEVICE"] = "cuda" if torch.cuda.is_available() else "cpu"


def _worker_process_chunk(params: dict, chunk: list) -> int:
    from retrieval_backend.methods.visual import VisualBackend

    encoded = VisualBackend(params).encode_clips(chunk)
    return len(chunk) - len(encoded.failed)


def _worker_processes_rate(processes: int, threads: int, params: dict, items: list, batch: int) -> float:
    """Chunks spread over ``processes`` spawned processes, each with its own CUDA context: a prefork GPU worker."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    params = {**params, "batch_size": batch}
    chunks = [items[i : i + 16] for i in range(0, len(items), 16)]
    context = multiprocessing.get_context("spawn")  # CUDA is initialised here already; fork would break it
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_worker_process_setup, initargs=(threads,)
    ) as pool:
        list(pool.map(_worker_process_chunk, [params] * processes, chunks[:processes]))  # load model, warm up
        started = time.perf_counter()
        done = sum(pool.map(_worker_process_chunk, [params] * len(chunks), chunks))
        return done / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke-cpu", action="store_true", help="run the same code on CPU with tiny sizes")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.smoke_cpu:
        device = torch.device("cpu")
        encoder_throughput(device, batch=2, frames=4, side=32, repeats=1)
        gpu_search(device, n=5000, dim=64, nq=10, k=5)
        worker_paths(device, clips=16, side=32, batch=4, videos=2, worker_processes=(2,))
    elif not torch.cuda.is_available():
        build = torch.version.cuda or "none"
        print(f"no GPU present (torch {torch.__version__}, CUDA build: {build}); nothing to check.")
        return 0
    else:
        device = torch.device("cuda")
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
        torch.backends.cudnn.benchmark = True
        encoder_throughput(device, batch=64, frames=16, side=112, repeats=10)
        gpu_search(device, n=630_000, dim=512, nq=1_000, k=50)
        worker_paths(device, clips=512, side=112, batch=64, videos=64, worker_processes=(1, 8, 16))
    print(f"gpu_check took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
